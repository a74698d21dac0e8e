// Admits key messages: verified (by the opener), for this programme, fresh, not replayed. Remembers the
// content keys announced but not yet installed. Segment-key messages (the PSK under service keys) pass the same
// rules and are handed to the receiver as they come, and so are group rekeys (type 3) of a session programme.
import type { KeyId, ProgrammeId, Ssrc } from '../ids.js';
import type { SignedGroupRekeyMessage } from '../packet/group-rekey.js';

/** A verified content-key message, reduced to what the receiver needs. */
export interface OpenedContentKey {
  readonly programmeId: ProgrammeId;
  readonly messageSeq: number;
  readonly keyId: KeyId;
  readonly ssrc: Ssrc;
  readonly roc: number;
  readonly seq: number;
  /** When the key server issued (signed) the message. */
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  /** The segments under whose key a copy of the content key is wrapped. */
  readonly segments: readonly number[];
  /** Session programmes: the group epochs (low 16 bits) under whose group key a copy is wrapped. */
  readonly groupEpochs: readonly number[];
  /** The content key, if `psk` unwraps the copy for `segment`. */
  unwrap(segment: number, psk: Uint8Array): { masterKey: Uint8Array; masterSalt: Uint8Array } | undefined;
  /** The content key, if the group key of (full) `groupEpoch` unwraps its group copy. */
  unwrapGroup(
    groupKey: Uint8Array,
    groupEpoch: number,
  ): { masterKey: Uint8Array; masterSalt: Uint8Array } | undefined;
}

/** A verified segment_key message: a segment's PSK wrapped under service keys (claim 9) or client keys (claim 8). */
export interface OpenedSegmentKey {
  readonly programmeId: ProgrammeId;
  readonly messageSeq: number;
  readonly segment: number;
  readonly epoch: number;
  readonly expiresAtMs: number;
  /** The service keys a copy is wrapped under: (service id, period 'YYYY-MM'). */
  readonly services: readonly { readonly serviceId: number; readonly period: string }[];
  /** The PSK, if `sk` (the service key of `serviceId` for `period`) unwraps its copy. */
  unwrap(serviceId: number, period: string, sk: Uint8Array): Uint8Array | undefined;
  /**
   * This client's own copy, wrapped under its client key (claims 7, 8, 30-32), found by its client id among the
   * entries without trying the others; undefined when the message has none for it or it does not unwrap.
   */
  own(): Uint8Array | undefined;
}

export type OpenResult =
  | { ok: true; key: OpenedContentKey }
  | { ok: true; segmentKey: OpenedSegmentKey }
  | { ok: true; groupRekey: SignedGroupRekeyMessage }
  | { ok: false; reason: string };
/** Decodes and verifies the signature of a datagram from the key port. Never throws. */
export type KeyMessageOpener = (bytes: Uint8Array) => OpenResult;

export type GateResult =
  | { kind: 'accepted'; key: OpenedContentKey }
  | { kind: 'segment_key'; segmentKey: OpenedSegmentKey }
  | { kind: 'group_rekey'; groupRekey: SignedGroupRekeyMessage }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; reason: string };

/**
 * A group rekey has no validity window of its own: an old one is harmless (a ring takes only newer key versions),
 * so it never counts as stale; replays are still caught by the message sequence.
 */
function groupRekeyValidity(m: SignedGroupRekeyMessage) {
  return { programmeId: m.programmeId, messageSeq: m.messageSeq, expiresAtMs: Number.MAX_SAFE_INTEGER };
}

/**
 * How far behind the newest message sequence an unseen message may be before it counts as replayed. Every key
 * message of a programme shares one sequence (content keys, segment keys under service keys, segment keys addressed
 * to named clients, group rekeys), and one large multicast answer or rekey may use many numbers at once, so the
 * window is wide: a carousel repeat of the current content key must never fall out of it. Old messages are caught
 * first by their validity (`stale`); exact repeats are `duplicate`.
 */
export const REPLAY_WINDOW = 1 << 16;
/** Messages seen are remembered by sequence until they expire or fall out of the window; at most this many. */
const MAX_SEEN = 1 << 16;

export class KeyMessageGate {
  /** messageSeq → a fingerprint of the message (its signature) and when it expires. */
  readonly #seen = new Map<number, { fingerprint: string; expiresAtMs: number }>();
  #acceptedSincePrune = 0;
  readonly #pending = new Map<KeyId, OpenedContentKey>();
  readonly #announced = new Map<KeyId, OpenedContentKey>();
  #maxSeq = -1;

  constructor(
    readonly programmeId: ProgrammeId,
    readonly open: KeyMessageOpener,
    readonly now: () => number,
  ) {}

  accept(bytes: Uint8Array): GateResult {
    const r = this.open(bytes);
    if (!r.ok) return { kind: 'rejected', reason: r.reason };
    const key = 'key' in r ? r.key : 'segmentKey' in r ? r.segmentKey : groupRekeyValidity(r.groupRekey);
    if (key.programmeId !== this.programmeId) return { kind: 'rejected', reason: 'wrong_programme' };
    // The signature (verified by the opener) covers every other byte: equal signatures, equal messages.
    const fingerprint = Buffer.from(bytes.subarray(bytes.length - 64)).toString('hex');
    const seen = this.#seen.get(key.messageSeq);
    if (seen !== undefined)
      return seen.fingerprint === fingerprint
        ? { kind: 'duplicate' }
        : { kind: 'rejected', reason: 'conflict' };
    const now = this.now();
    if (key.expiresAtMs < now) return { kind: 'rejected', reason: 'stale' };
    if (key.messageSeq <= this.#maxSeq - REPLAY_WINDOW) return { kind: 'rejected', reason: 'replayed' };
    this.#seen.set(key.messageSeq, { fingerprint, expiresAtMs: key.expiresAtMs });
    this.#maxSeq = Math.max(this.#maxSeq, key.messageSeq);
    if (++this.#acceptedSincePrune >= 256 || this.#seen.size > MAX_SEEN) this.#pruneSeen(now);
    if ('groupRekey' in r) return { kind: 'group_rekey', groupRekey: r.groupRekey };
    if (!('key' in r)) return { kind: 'segment_key', segmentKey: r.segmentKey };
    this.#announced.set(r.key.keyId, r.key);
    this.#pending.set(r.key.keyId, r.key);
    this.#prune();
    return { kind: 'accepted', key: r.key };
  }

  pending(): OpenedContentKey[] {
    this.#prune();
    return [...this.#pending.values()];
  }

  /** Announced by a verified message and not installed yet: its packets are worth waiting for. */
  isPending(keyId: KeyId): boolean {
    return this.#pending.has(keyId);
  }

  announced(keyId: KeyId): OpenedContentKey | undefined {
    return this.#announced.get(keyId);
  }

  installed(keyId: KeyId): void {
    this.#pending.delete(keyId);
  }

  /** Forgets messages that expired (a repeat of one is stale anyway) or fell out of the window; keeps MAX_SEEN. */
  #pruneSeen(now: number): void {
    this.#acceptedSincePrune = 0;
    for (const [seq, m] of this.#seen) {
      if (m.expiresAtMs < now || seq <= this.#maxSeq - REPLAY_WINDOW) this.#seen.delete(seq);
    }
    if (this.#seen.size > MAX_SEEN) {
      const oldest = [...this.#seen.keys()].sort((a, b) => a - b).slice(0, this.#seen.size - MAX_SEEN);
      for (const seq of oldest) this.#seen.delete(seq);
    }
  }

  #prune(): void {
    const now = this.now();
    for (const [id, k] of this.#announced) {
      if (k.expiresAtMs < now) {
        this.#announced.delete(id);
        this.#pending.delete(id);
      }
    }
  }
}
