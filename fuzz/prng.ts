// A small seeded PRNG (sfc32, seeded through splitmix32) for the fuzzer: a fuzz case costs a few microseconds, so
// fast-check's per-value machinery would dominate; this one is a handful of integer ops per draw and replays
// exactly from its seed.

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32: spreads one 32-bit seed over the four words of state
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in 0 .. n-1 (n ≥ 1, at most 2^32). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in min .. max inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() < p * 0x1_0000_0000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: no items');
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let r = this.u32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = r & 0xff;
        r >>>= 8;
      }
    }
    return out;
  }

  /** A length that is usually small: most parser bugs live near the short end. */
  smallLength(max: number): number {
    return this.chance(0.7) ? this.below(Math.min(max, 64) + 1) : this.below(max + 1);
  }

  /** A child generator, so one part of a set-up draws independently of how much another drew. */
  fork(): Prng {
    return new Prng(this.u32());
  }
}
