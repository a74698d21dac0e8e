// Multicast delivery of segment keys to named clients (claims 7, 8, 30-32). A client that listens on the programme's
// key port may ask for a segment key with `"delivery": "multicast"`. Its request is authenticated, checked and logged
// as any other (log before deliver); then, instead of answering at once, the key server holds the answer for a
// short collection window (default 50 ms) and gathers every client that asked for the same (programme, segment,
// epoch) meanwhile. When the window closes:
//
// - one client only: it gets its key in the HTTP answer, wrapped under its client key (unicast, claim 5);
// - two or more: the key server multicasts ONE segment_key message that concatenates each client's copy of the PSK,
//   each wrapped under that client's key (claims 8, 30, 31), entries named by client id so each client finds its
//   own without trying the others. A list too long for one datagram is split into several messages of at most
//   MAX_DATAGRAM_BYTES, each signed once. Every message is sent REPEATS times so one lost datagram is harmless. Each
//   HTTP answer then says `"delivery": "multicast"` with the messageSeq of the message holding the client's entry,
//   and no key. A client that does not see its entry asks again with the same requestId and `"delivery":
//   "unicast"`: the answer comes from the log, wrapped under its key, and nothing is billed twice.
//
// The window holds HTTP answers, never a store transaction. Anything failing while the window closes (the store, the
// socket) falls back to unicast answers: a key is never lost to the batching.
import { signKeyMessage } from '../keys/key-message-sign.js';
import {
  KEY_ENTRY_HEADER_LENGTH_BYTES,
  KEY_MESSAGE_HEADER_LENGTH_BYTES,
  KEY_MESSAGE_SIGNATURE_LENGTH_BYTES,
  SEGMENT_KEY_BODY_LENGTH_BYTES,
  type KeyEntry,
} from '../packet/key-message.js';
import type { ProgrammeId, SegmentIndex } from '../ids.js';
import type { Logger } from 'pino';
import type { ServerSecrets } from '../store/data-dir.js';
import type { Store } from '../store/types.js';
import { MulticastSockets } from './multicast-sockets.js';

/** Every datagram stays under 1200 bytes: below any path MTU in use, with room for IP and UDP headers. */
export const MAX_DATAGRAM_BYTES = 1199;
const MESSAGE_OVERHEAD_BYTES =
  KEY_MESSAGE_HEADER_LENGTH_BYTES + SEGMENT_KEY_BODY_LENGTH_BYTES + KEY_MESSAGE_SIGNATURE_LENGTH_BYTES;
/**
 * The most clients one batch gathers (16 messages of 15): a full batch closes at once, so a burst of requests is
 * answered in steps rather than all waiting for one stretched window, and one answer never floods the key port.
 */
export const MAX_BATCH_CLIENTS = 240;
/** The longest collection window allowed: well below a receiver's 3 s per-request timeout. */
export const MAX_WINDOW_MS = 1000;

export interface SegmentKeyMulticastOptions {
  /** How long the key server gathers requests for one segment key before answering them. 0: always unicast. */
  readonly windowMs: number;
  /** Interface to multicast on (127.0.0.1 keeps everything on this host). */
  readonly interfaceAddress: string;
  readonly ttl: number;
}

export const DEFAULT_SEGMENT_KEY_MULTICAST: SegmentKeyMulticastOptions = {
  windowMs: 50,
  interfaceAddress: '127.0.0.1',
  ttl: 0,
};

export type BatchOutcome =
  { readonly delivery: 'unicast' } | { readonly delivery: 'multicast'; readonly messageSeq: number };

interface Waiter {
  readonly clientId: number;
  readonly wrapped: Uint8Array;
  readonly resolve: (o: BatchOutcome) => void;
}

interface Batch {
  readonly programmeId: ProgrammeId;
  readonly segment: SegmentIndex;
  readonly epoch: number;
  readonly waiters: Waiter[];
}

/** Splits entries into runs whose messages fit MAX_DATAGRAM_BYTES (every entry fits alone). */
export function chunkEntries(entries: readonly KeyEntry[]): KeyEntry[][] {
  const chunks: KeyEntry[][] = [];
  let current: KeyEntry[] = [];
  let size = MESSAGE_OVERHEAD_BYTES;
  for (const e of entries) {
    const n = KEY_ENTRY_HEADER_LENGTH_BYTES + e.wrapped.length;
    if (current.length > 0 && size + n > MAX_DATAGRAM_BYTES) {
      chunks.push(current);
      current = [];
      size = MESSAGE_OVERHEAD_BYTES;
    }
    current.push(e);
    size += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class SegmentKeyBatcher {
  readonly #batches = new Map<string, Batch>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #sockets: MulticastSockets;
  #closed = false;

  /** `sockets`: shared with the sessions' rekey multicast (src/server/multicast-sockets.ts); own ones otherwise. */
  constructor(
    readonly ctx: { readonly store: Store; readonly secrets: ServerSecrets; readonly now: () => number },
    readonly opts: SegmentKeyMulticastOptions,
    readonly log: Logger | undefined,
    sockets?: MulticastSockets,
  ) {
    this.#sockets = sockets ?? new MulticastSockets(opts, log);
  }

  /**
   * Adds a client's copy (the PSK wrapped under its key, as logged) to the batch of (programme, segment, epoch);
   * resolves when the window closes.
   */
  join(
    programmeId: ProgrammeId,
    segment: SegmentIndex,
    epoch: number,
    clientId: number,
    wrapped: Uint8Array,
  ): Promise<BatchOutcome> {
    if (this.#closed || this.opts.windowMs <= 0) return Promise.resolve({ delivery: 'unicast' });
    const id = `${programmeId}/${segment}/${epoch}`;
    let batch = this.#batches.get(id);
    if (batch === undefined) {
      const b: Batch = { programmeId, segment, epoch, waiters: [] };
      this.#batches.set(id, (batch = b));
      this.#later(this.opts.windowMs, () => {
        if (this.#batches.get(id) !== b) return; // closed early, full
        this.#batches.delete(id);
        void this.#close(b);
      });
    }
    const b = batch;
    return new Promise((resolve) => {
      b.waiters.push({ clientId, wrapped, resolve });
      if (b.waiters.length >= MAX_BATCH_CLIENTS && this.#batches.get(id) === b) {
        this.#batches.delete(id); // full: the next request opens a new batch
        setImmediate(() => void this.#close(b));
      }
    });
  }

  /** Answers every open batch by unicast, drops the repeats not sent yet, closes the sockets once sent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const b of this.#batches.values()) for (const w of b.waiters) w.resolve({ delivery: 'unicast' });
    this.#batches.clear();
    await this.#sockets.close();
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  async #close(b: Batch): Promise<void> {
    // One entry per client, even if it asked twice within the window.
    const byClient = new Map<number, Waiter>();
    for (const w of b.waiters) byClient.set(w.clientId, w);
    if (byClient.size < 2) {
      for (const w of b.waiters) w.resolve({ delivery: 'unicast' });
      return;
    }
    try {
      const entries: KeyEntry[] = [...byClient.values()].map((w) => ({
        wrapKind: 'client',
        wrapKeyId: w.clientId,
        epoch: 0, // client keys have no epochs
        wrapped: w.wrapped,
      }));
      const chunks = chunkEntries(entries);
      const { programme, messages } = await this.ctx.store.transact(async (tx) => {
        const p = await tx.programmes.get(b.programmeId);
        if (p === undefined) throw new Error(`programme ${b.programmeId} is gone`);
        const nowMs = this.ctx.now();
        const out: { seq: number; bytes: Uint8Array; clients: number[] }[] = [];
        for (const chunk of chunks) {
          const seq = await tx.programmes.allocateMessageSeq(p.id);
          const bytes = signKeyMessage(
            {
              type: 'segment_key',
              programmeId: p.id,
              messageSeq: seq,
              issuedAtMs: nowMs,
              segment: b.segment,
              epoch: b.epoch,
              activatesAtMs: nowMs,
              // On the air for the repeats; valid for two segment lengths (the receiver keeps the PSK it opened).
              expiresAtMs: nowMs + 2 * p.segmentLengthMs,
              entries: chunk,
            },
            this.ctx.secrets.signing.privateKey,
          );
          out.push({ seq, bytes, clients: chunk.map((e) => e.wrapKeyId) });
        }
        return { programme: p, messages: out };
      });
      await this.#sockets.sendRepeated(
        programme.group,
        programme.keyPort,
        messages.map((m) => m.bytes),
      );
      const seqOf = new Map<number, number>();
      for (const m of messages) for (const c of m.clients) seqOf.set(c, m.seq);
      for (const w of b.waiters) w.resolve({ delivery: 'multicast', messageSeq: seqOf.get(w.clientId)! });
      this.log?.info(
        {
          programmeId: b.programmeId,
          segment: b.segment,
          epoch: b.epoch,
          clients: byClient.size,
          messages: messages.length,
          bytes: messages.reduce((n, m) => n + m.bytes.length, 0),
        },
        'segment key multicast to named clients',
      );
    } catch (err) {
      this.log?.warn(
        { err: String(err), programmeId: b.programmeId, segment: b.segment },
        'multicast failed',
      );
      for (const w of b.waiters) w.resolve({ delivery: 'unicast' });
    }
  }
}
