// The demo's session part (issue 4 point 7): a second programme, priced per minute of session membership, sent by
// its own sender on the same sample beside the first one, with four session members (claims 13-24):
//   session-stay-1, session-stay-2  stay to the end: the whole input, byte for byte, across every group rekey;
//   session-leaver                  sends the leave message mid-programme (`receive --leave-after`), then keeps
//                                   listening and trying to decrypt, as an attacker would;
//   session-silent                  suspended with SIGSTOP (no more keep-alives), removed by the key server after
//                                   the member expiry, resumed with SIGCONT: it learns `revoked` and keeps trying.
// packetsDecryptedAfterRemoval counts packets decrypted under content keys whose key message was issued after the
// key server's own removal record (leave or evict) of that member: it must be 0.
import { join } from 'node:path';
import type { Invoice } from '../billing/rate.js';
import { PCR_CLOCK_HZ, TS_PACKET_BYTES, pcrDelta, readPcr, tsPid } from '../packet/mpegts.js';
import type { LogRecord, Store } from '../store/index.js';
import type { Child } from './child.js';
import type { CastContext } from './demo-cast.js';
import { enrol } from './demo-cast.js';
import type { DemoCheck, DemoReceiver } from './demo-types.js';

export type SessionRole = 'stay' | 'leave' | 'silent';

export interface SessionMemberSpec {
  readonly name: string;
  readonly label: string;
  readonly role: SessionRole;
}

export const SESSION_MEMBERS: readonly SessionMemberSpec[] = [
  { name: 'session-stay-1', label: 'ss1', role: 'stay' },
  { name: 'session-stay-2', label: 'ss2', role: 'stay' },
  { name: 'session-leaver', label: 'sleave', role: 'leave' },
  { name: 'session-silent', label: 'ssilent', role: 'silent' },
];

export interface SessionTiming {
  /** The programme's length at the demo's speed (from the input's PCR). */
  readonly durationMs: number;
  readonly keepAliveIntervalMs: number;
  readonly memberExpiryMs: number;
  readonly batchIntervalMs: number;
  /** The leaver's --leave-after (from its first decrypted packet). */
  readonly leaveAfterMs: number;
  /** The silent member is suspended once the session sender has sent this many packets. */
  readonly suspendAtPackets: number;
}

/** Wall-clock length of a TS input from its PCR (first to last PCR of the first PCR PID), in ms. */
export function tsDurationMs(input: Uint8Array): number {
  let pid: number | undefined;
  let first: number | undefined;
  let last: number | undefined;
  for (let off = 0; off + TS_PACKET_BYTES <= input.length; off += TS_PACKET_BYTES) {
    const pcr = readPcr(input, off);
    if (pcr === undefined) continue;
    const p = tsPid(input, off);
    pid ??= p;
    if (p !== pid) continue;
    first ??= pcr;
    last = pcr;
  }
  return first === undefined || last === undefined ? 0 : (pcrDelta(first, last) * 1000) / PCR_CLOCK_HZ;
}

/**
 * Keep-alives and expiry scale with the speed so that a fast demo still shows the eviction: keep-alive every
 * 2 s / speed (at least 400 ms), expiry three intervals. The silent member is suspended at 10% of the programme,
 * the leaver leaves after watching 55% (the two removals come apart).
 */
export function sessionTiming(speed: number, input: Uint8Array, packetsEstimate: number): SessionTiming {
  const durationMs = tsDurationMs(input) / speed;
  const keepAliveIntervalMs = Math.max(400, Math.round(2000 / speed));
  return {
    durationMs,
    keepAliveIntervalMs,
    memberExpiryMs: 3 * keepAliveIntervalMs,
    batchIntervalMs: Math.max(200, Math.min(1000, keepAliveIntervalMs)),
    leaveAfterMs: Math.round(0.55 * durationMs),
    suspendAtPackets: Math.max(1, Math.floor(0.1 * packetsEstimate)),
  };
}

/** `keycast serve` options for the sessions. */
export function serveSessionArgs(mode: string, t: SessionTiming): string[] {
  return [
    '--rekey',
    mode,
    '--keepalive-interval-ms',
    String(t.keepAliveIntervalMs),
    '--member-expiry-ms',
    String(t.memberExpiryMs),
    '--batch-interval-ms',
    String(t.batchIntervalMs),
  ];
}

export interface SessionCastMember {
  readonly spec: SessionMemberSpec;
  readonly client: { readonly id: number; readonly path: string };
  readonly output: string;
  readonly stats: string;
  readonly extraArgs: readonly string[];
}

/** Enrols the session sender and the four members (no grant: a session is billed per minute of membership). */
export async function setUpSessionCast(
  ctx: CastContext,
  t: SessionTiming,
): Promise<{ sender: { id: number; path: string }; members: SessionCastMember[] }> {
  const sender = await enrol(ctx, 'session-sender', 'sender');
  const members: SessionCastMember[] = [];
  for (const spec of SESSION_MEMBERS) {
    const client = await enrol(ctx, spec.name, 'receiver');
    const extraArgs = ['--session'];
    if (spec.role !== 'stay') extraArgs.push('--keep-listening-after-removal');
    if (spec.role === 'leave') extraArgs.push('--leave-after', `${t.leaveAfterMs}ms`);
    members.push({
      spec,
      client,
      output: join(ctx.dir, `${spec.name}.ts`),
      stats: join(ctx.dir, `${spec.name}.stats.json`),
      extraArgs,
    });
  }
  return { sender, members };
}

/**
 * Suspends the silent member's process (SIGSTOP: no keep-alives, no acks) and resumes it (SIGCONT) once the key
 * server has logged its eviction, or after three expiries at most. Returns a function that resumes it at once (for
 * the end of the demo, whatever happened).
 */
export function suspendUntilEvicted(
  child: Child,
  clientId: number,
  store: Store,
  t: SessionTiming,
  status: (line: string) => void,
): { done: Promise<{ suspendedAtMs: number; resumedAtMs: number; evicted: boolean }>; resume: () => void } {
  const suspendedAtMs = Date.now();
  child.process.kill('SIGSTOP');
  status(
    `session-silent suspended (SIGSTOP): no more keep-alives; the key server should evict it after ${t.memberExpiryMs} ms`,
  );
  let stopped = true;
  const resume = () => {
    if (!stopped) return;
    stopped = false;
    child.process.kill('SIGCONT');
  };
  const done = (async () => {
    const deadline = suspendedAtMs + 3 * t.memberExpiryMs + 2 * t.keepAliveIntervalMs;
    let evicted = false;
    while (stopped && Date.now() < deadline) {
      const evictions = await store.transact((tx) => tx.log.byEvents(['evict']));
      evicted = evictions.some((r) => r.clientId === clientId);
      if (evicted) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    resume();
    const resumedAtMs = Date.now();
    status(
      `session-silent ${evicted ? 'evicted by the key server' : 'NOT evicted'}; resumed (SIGCONT) ${resumedAtMs - suspendedAtMs} ms after the suspension, and keeps trying`,
    );
    return { suspendedAtMs, resumedAtMs, evicted };
  })();
  return { done, resume };
}

export interface SessionStatsFile {
  packetsReceived: number;
  packetsDecrypted: number;
  packetsRejected: number;
  rejectedByReason: Record<string, number>;
  srtcp?: { received: number; accepted: number; rejectedByReason: Record<string, number> };
  firstDecryptedIndex?: number;
  memberId?: number;
  groupEpoch?: number;
  acks: number;
  keepAlives: number;
  leftAt?: number;
  removedBy: 'leave' | 'keepalive' | 'ack' | null;
  leftOnClose: boolean;
  packetsDecryptedAfterRemoval: number;
  decryptedByKey: { keyId: number; issuedAtMs: number; packets: number }[];
}

/** The key server's removal of `clientId` from `programmeId`'s session (its leave or evict record). */
export function removalRecord(
  records: readonly LogRecord[],
  clientId: number,
  programmeId: number,
): LogRecord | undefined {
  return records.find(
    (r) =>
      r.clientId === clientId &&
      r.programmeId === programmeId &&
      (r.event === 'evict' || (r.event === 'leave' && r.outcome === 'delivered')),
  );
}

/** Seconds of session time the bill rates for `clientId` (the billing_stop records' billedMs, as src/billing). */
export function billedSeconds(records: readonly LogRecord[], clientId: number, programmeId: number): number {
  let ms = 0;
  let joinedAt: number | undefined;
  for (const r of records) {
    if (r.clientId !== clientId || r.programmeId !== programmeId || r.outcome !== 'delivered') continue;
    if (r.event === 'join') joinedAt ??= r.timeMs;
    else if (r.event === 'billing_stop' && joinedAt !== undefined) {
      let billed: number | undefined;
      try {
        const d = JSON.parse(r.detail ?? '{}') as { billedMs?: unknown };
        if (typeof d.billedMs === 'number') billed = d.billedMs;
      } catch {
        billed = undefined;
      }
      ms += billed ?? r.timeMs - joinedAt;
      joinedAt = undefined;
    }
  }
  return Math.round(ms / 100) / 10;
}

/** Packets decrypted under content keys whose key message was issued after `atMs`. */
export function decryptedAfter(
  byKey: readonly { readonly issuedAtMs: number; readonly packets: number }[],
  atMs: number,
): number {
  return byKey.filter((k) => k.issuedAtMs > atMs).reduce((n, k) => n + k.packets, 0);
}

export interface SessionCheckInput {
  readonly mode: string;
  readonly receivers: readonly DemoReceiver[];
  readonly inputBytes: number;
  readonly groupRekeys: number;
  /** Packets the stayers decrypted under keys issued after both removals (so the attacker check saw such keys). */
  readonly stayerPacketsAfterRemovals: number;
  readonly silentEvicted: boolean;
  readonly invoice: Invoice;
}

export function sessionChecks(c: SessionCheckInput): DemoCheck[] {
  const get = (name: string): DemoReceiver => {
    const r = c.receivers.find((x) => x.name === name);
    if (r === undefined) throw new Error(`demo: no session member named ${name}`);
    return r;
  };
  const stayers = SESSION_MEMBERS.filter((m) => m.role === 'stay').map((m) => get(m.name));
  const leaver = get('session-leaver');
  const silent = get('session-silent');
  const billedMinutes = (r: DemoReceiver) =>
    c.invoice.lines.some((l) => l.client === r.clientId && l.item.includes('session') && l.quantity >= 1);
  return [
    {
      name: `session (${c.mode}): both stayers got the whole input byte for byte across ${c.groupRekeys} group rekeys, removedBy null`,
      ok:
        c.groupRekeys >= 2 &&
        stayers.every((r) => r.identical && r.outputBytes === c.inputBytes && r.removedBy === null),
    },
    {
      name: 'session-leaver: left with the leave message mid-programme (removedBy leave); its output is a prefix of the input',
      ok:
        leaver.removedBy === 'leave' &&
        leaver.leftAt !== null &&
        leaver.identical &&
        leaver.outputBytes > 0 &&
        leaver.outputBytes < c.inputBytes,
    },
    {
      name: 'session-silent: suspended (SIGSTOP), evicted after the keep-alive expiry (removedBy keepalive), resumed (SIGCONT)',
      ok: c.silentEvicted && silent.removedBy === 'keepalive' && silent.leftAt !== null,
    },
    {
      name: `session-leaver and session-silent kept trying after removal and decrypted 0 packets under content keys issued after it (the stayers decrypted ${c.stayerPacketsAfterRemovals} such packets)`,
      ok:
        c.stayerPacketsAfterRemovals > 0 &&
        leaver.packetsDecryptedAfterRemoval === 0 &&
        silent.packetsDecryptedAfterRemoval === 0 &&
        leaver.packetsReceived > leaver.packetsDecrypted &&
        silent.packetsReceived > silent.packetsDecrypted,
    },
    {
      name: 'session members billed per started minute; the leaver for less time than the stayers',
      ok:
        [...stayers, leaver, silent].every((r) => billedMinutes(r) && (r.billedSeconds ?? 0) > 0) &&
        (leaver.billedSeconds ?? 0) < Math.min(...stayers.map((r) => r.billedSeconds ?? 0)),
    },
  ];
}
