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

/** How far behind the newest message sequence an unseen message may be before it counts as replayed. */
const REPLAY_WINDOW = 64;

export class KeyMessageGate {
  readonly #seen = new Map<number, string>();
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
    const fingerprint = Buffer.from(bytes).toString('base64');
    const seen = this.#seen.get(key.messageSeq);
    if (seen !== undefined)
      return seen === fingerprint ? { kind: 'duplicate' } : { kind: 'rejected', reason: 'conflict' };
    if (key.expiresAtMs < this.now()) return { kind: 'rejected', reason: 'stale' };
    if (key.messageSeq <= this.#maxSeq - REPLAY_WINDOW) return { kind: 'rejected', reason: 'replayed' };
    this.#seen.set(key.messageSeq, fingerprint);
    this.#maxSeq = Math.max(this.#maxSeq, key.messageSeq);
    for (const s of this.#seen.keys()) if (s <= this.#maxSeq - REPLAY_WINDOW) this.#seen.delete(s);
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
