// The receivers' key table (SRTP and SRTCP alike): keys by id and by the slot that names them in packets (the MKI,
// or in phase mode the phase); a retired key stays usable for a grace period, then is zeroized and deleted, on
// use or by prune(). What a key's slot is, and how it is zeroized, belongs to the receiver.

import type { KeyId } from '../ids.js';

export const SRTP_DEFAULT_RETIRE_GRACE_MS = 5_000;

export type RetiringKey<K> = K & { retiredAtMs: number | undefined };

export interface RetiringKeysOptions<K> {
  /** How long a retired key stays usable; default 5000 ms. */
  readonly retireGraceMs?: number | undefined;
  /** Clock in ms for the grace period; default performance.now. */
  readonly now?: (() => number) | undefined;
  /** What names the key in packets. */
  readonly slotOf: (key: K) => number;
  readonly zeroize: (key: K) => void;
}

export class RetiringKeys<K extends { readonly keyId: KeyId }> {
  readonly retireGraceMs: number;
  readonly #now: () => number;
  readonly #slotOf: (key: K) => number;
  readonly #zeroize: (key: K) => void;
  readonly #keys = new Map<KeyId, RetiringKey<K>>();
  readonly #bySlot = new Map<number, RetiringKey<K>>();

  /** `owner` names the receiver in the message for a bad retireGraceMs. */
  constructor(owner: string, opts: RetiringKeysOptions<K>) {
    const grace = opts.retireGraceMs ?? SRTP_DEFAULT_RETIRE_GRACE_MS;
    if (!Number.isFinite(grace) || grace < 0) {
      throw new RangeError(`${owner}: retireGraceMs must be a finite number >= 0, got ${grace}`);
    }
    this.retireGraceMs = grace;
    this.#now = opts.now ?? (() => performance.now());
    this.#slotOf = opts.slotOf;
    this.#zeroize = opts.zeroize;
  }

  /** Holds a key, live, under its id and its slot (the caller has dealt with any key in that slot). */
  add(key: K): void {
    const entry: RetiringKey<K> = { ...key, retiredAtMs: undefined };
    this.#keys.set(entry.keyId, entry);
    this.#bySlot.set(this.#slotOf(entry), entry);
  }

  /** The key, unless absent or past its grace period (then it is deleted here). */
  live(keyId: KeyId): RetiringKey<K> | undefined {
    const entry = this.#keys.get(keyId);
    if (entry === undefined) return undefined;
    if (this.expired(entry)) {
      this.delete(entry);
      return undefined;
    }
    return entry;
  }

  /** The key in a slot, expired or not (check with expired()). */
  inSlot(slot: number): RetiringKey<K> | undefined {
    return this.#bySlot.get(slot);
  }

  /** Every held key, expired or not. */
  all(): IterableIterator<RetiringKey<K>> {
    return this.#keys.values();
  }

  /** The key stays usable for retireGraceMs. No-op if unknown. */
  retire(keyId: KeyId): void {
    const entry = this.live(keyId);
    if (entry !== undefined && entry.retiredAtMs === undefined) entry.retiredAtMs = this.#now();
  }

  /** Zeroizes and deletes every retired key past its grace period; returns how many. */
  prune(): number {
    let deleted = 0;
    for (const entry of [...this.#keys.values()]) {
      if (this.expired(entry)) {
        this.delete(entry);
        deleted += 1;
      }
    }
    return deleted;
  }

  expired(entry: RetiringKey<K>): boolean {
    return entry.retiredAtMs !== undefined && this.#now() - entry.retiredAtMs >= this.retireGraceMs;
  }

  /** Zeroizes the key and forgets it (its slot too, unless a newer key holds it). */
  delete(entry: RetiringKey<K>): void {
    this.#keys.delete(entry.keyId);
    const slot = this.#slotOf(entry);
    if (this.#bySlot.get(slot) === entry) this.#bySlot.delete(slot);
    this.#zeroize(entry);
  }
}
