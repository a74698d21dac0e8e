// Helpers for the standard-peer tests (GStreamer, ffmpeg): the keycast CLI as a child process, RFC 4571 files,
// paced UDP replay on loopback, and ffmpeg's per-stream packet hashes.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEYCAST_BIN = join(import.meta.dirname, '../../bin/keycast.js');

/** A random even loopback port, a multiple of 4 (RTP, RTCP and a spare pair). */
export function randomPort(): number {
  return 20_000 + 4 * Math.floor(Math.random() * 10_000);
}

/** The packets of an RFC 4571 stream (16-bit length, then the packet), as GStreamer's rtpstreampay writes it. */
export function readRfc4571(path: string): Buffer[] {
  const all = readFileSync(path);
  const out: Buffer[] = [];
  for (let o = 0; o + 2 <= all.length;) {
    const n = all.readUInt16BE(o);
    if (o + 2 + n > all.length) throw new Error(`${path}: truncated RFC 4571 frame at ${o}`);
    out.push(all.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}

/** Sends `packets` to 127.0.0.1:port, yielding to the event loop now and then so the receiver keeps up. */
export async function replay(packets: readonly Uint8Array[], port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const [i, p] of packets.entries()) {
      await new Promise<void>((resolve, reject) =>
        socket.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
      if (i % 32 === 31) await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    socket.close();
  }
}

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `keycast ...` child; `ready` resolves at its first `ready` event line, `done` at exit. */
export function startKeycast(args: readonly string[]) {
  const child = spawn(process.execPath, [KEYCAST_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (/"event":"ready"/.test(stdout)) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve) =>
    child.on('close', (code) => {
      onReady();
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, ready, done };
}

/** The JSON line of `event` in a child's stdout. */
export function eventOf(stdout: string, event: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.includes(`"event":"${event}"`));
  if (line === undefined) throw new Error(`no ${event} event in:\n${stdout}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/**
 * Per elementary stream, the md5 and size of every demuxed packet (`ffmpeg -c copy -f framemd5`), in order.
 * Timestamps are left out on purpose: a re-muxer may shift them; the bytes of each packet may not change.
 */
export function packetHashes(file: string): Map<string, string[]> {
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0', '-c', 'copy', '-f', 'framemd5', '-'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg framemd5 of ${file} failed: ${r.stderr}`);
  return byStream(r.stdout, (f) => `${f[4]} ${f[5]}`);
}

/** Per stream, the md5 of every decoded frame in a framemd5 listing. */
export function byStream(
  framemd5: string,
  pick: (fields: string[]) => string = (f) => f[5]!,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of framemd5.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split(',').map((s) => s.trim());
    const list = out.get(f[0]!) ?? [];
    list.push(pick(f));
    out.set(f[0]!, list);
  }
  return out;
}
