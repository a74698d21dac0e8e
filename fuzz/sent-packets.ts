// What the SRTP and SRTCP targets keep of the packets their real sender made: the ones not yet delivered (made in
// small batches, sometimes reordered), the recent ones to mutate and repeat, and a look-up by SSRC and index for
// checking what a receiver accepted.
import type { Prng } from './prng.js';

export interface SentPacket {
  readonly ssrc: number;
  readonly index: number;
  delivered: boolean;
}

export class SentPackets<S extends SentPacket> {
  readonly recent: S[] = [];
  readonly #upcoming: S[] = [];
  readonly #byIndex = new Map<string, S>();
  readonly #keep: number;
  readonly #send: (rng: Prng) => S;
  readonly #forget: (gone: S) => void;

  /**
   * `send` makes the next packet; `keep` is how many stay in `recent`; `forget` sees each one that leaves it
   * (no longer found by sentAs).
   */
  constructor(keep: number, send: (rng: Prng) => S, forget: (gone: S) => void = () => {}) {
    this.#keep = keep;
    this.#send = send;
    this.#forget = forget;
  }

  /** The next valid packet in delivery order (sent in small batches, sometimes reordered). */
  nextValid(rng: Prng): S {
    if (this.#upcoming.length === 0) {
      const batch = Array.from({ length: 4 }, () => this.#record(this.#send(rng)));
      if (rng.chance(0.3)) {
        const i = rng.below(3);
        [batch[i], batch[i + 1]] = [batch[i + 1]!, batch[i]!];
      }
      this.#upcoming.push(...batch);
    }
    return this.#upcoming.shift()!;
  }

  /** A packet to mutate: a recent one, or one not yet delivered (a mutant of it must not get through either). */
  source(rng: Prng): S | undefined {
    if (this.#upcoming.length > 0 && rng.chance(0.2)) return rng.pick(this.#upcoming);
    return this.recent.length === 0 ? undefined : rng.pick(this.recent);
  }

  sentAs(ssrc: number, index: number): S | undefined {
    return this.#byIndex.get(`${ssrc}:${index}`);
  }

  #record(sent: S): S {
    this.recent.push(sent);
    this.#byIndex.set(`${sent.ssrc}:${sent.index}`, sent);
    if (this.recent.length > this.#keep) {
      const gone = this.recent.shift()!;
      this.#byIndex.delete(`${gone.ssrc}:${gone.index}`);
      this.#forget(gone);
    }
    return sent;
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** The values byte `i` of an MKI may take: that byte of each key id the lane has used. */
export function mkiByteValues(keyIds: readonly number[], mkiLengthBytes: number, i: number): number[] {
  return keyIds.map((k) => (k >>> (8 * (mkiLengthBytes - 1 - i))) & 0xff);
}
