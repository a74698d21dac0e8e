// Small helpers of `keycast demo`: reading outputs and logs, and the live progress line.
import { readFile } from 'node:fs/promises';
import type { LogRecord, Store } from '../store/index.js';
import type { ChildEvent } from './child.js';

/** A file's bytes; a file that was never written (a receiver that decrypted nothing) reads as empty. */
export async function readBytesOrEmpty(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return new Uint8Array(0);
  }
}

/** Every record of the request log, in order. */
export async function readLog(store: Store): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const page = await store.transact((tx) => tx.log.range(out.length + 1, 1000));
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** The last `lines` lines of a log file, for an error message. */
export async function tail(path: string, lines: number): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The legend printed once above the progress lines. */
export function statusLegend(receivers: readonly { name: string; label: string }[]): string {
  return `progress: receivers as decrypted/rejected packets (${receivers.map((r) => `${r.label} = ${r.name}`).join(', ')})`;
}

/** One short line: the sender's packets, segment and key, then decrypted/rejected per receiver. */
export function statusLine(
  progress: ReadonlyMap<string, ChildEvent>,
  receivers: readonly { name: string; label: string }[],
): string {
  const n = (e: ChildEvent | undefined, field: string): string => {
    const v = e?.[field];
    return typeof v === 'number' ? String(v) : '-';
  };
  const s = progress.get('sender');
  const parts = [`sender ${n(s, 'packetsSent')} pkts, segment ${n(s, 'segment')}, key ${n(s, 'keyId')}`];
  for (const r of receivers) {
    const e = progress.get(r.name);
    parts.push(`${r.label} ${n(e, 'packetsDecrypted')}/${n(e, 'packetsRejected')}`);
  }
  return parts.join(' | ');
}
