// What a fuzz target is. A target sets up real parts (keys, a sender, a receiver, a gate) from a seeded PRNG, then
// for each case makes an input (`generate`) and feeds it (`feed`). The runner owns the input, so any failure comes
// with its counterexample; `feed` reports the outcome and throws FuzzFailure when an invariant breaks. Any other
// exception out of `feed` is itself a failure: untrusted input must never make the code under test throw.
import type { Prng } from './prng.js';

export type CaseOutcome =
  { readonly kind: 'accepted' } | { readonly kind: 'rejected'; readonly reason: string };

export const ACCEPTED: CaseOutcome = { kind: 'accepted' };

export function rejected(reason: string): CaseOutcome {
  return { kind: 'rejected', reason };
}

/** A broken invariant (state changed after a rejection, a forgery accepted, ...). */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new FuzzFailure(message());
}

/** One set-up instance of a target. */
export interface FuzzInstance {
  generate(rng: Prng): Uint8Array;
  feed(input: Uint8Array): CaseOutcome;
  /** Checks at the end of a run: a valid input fed after all the garbage still goes through. Throws FuzzFailure. */
  finish(): void;
}

export interface FuzzTarget {
  /** The name for `--target`. */
  readonly name: string;
  readonly summary: string;
  setup(rng: Prng): FuzzInstance;
}
