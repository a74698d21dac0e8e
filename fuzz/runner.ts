// Runs one target for N cases from a seed: counts outcomes by reason, times the run, and stops at the first
// failure with its counterexample.
import { performance } from 'node:perf_hooks';
import { Prng } from './prng.js';
import { FuzzFailure, type FuzzTarget } from './target.js';

export interface FuzzRunOptions {
  readonly cases: number;
  readonly seed: number;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  readonly cases: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Rejections by reason; the counts sum to `rejected`. */
  readonly reasons: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  readonly casesPerSecond: number;
  readonly failure?: {
    readonly caseNumber: number;
    /** 'invariant' (FuzzFailure) or 'exception' (something threw that must not). */
    readonly kind: 'invariant' | 'exception';
    readonly message: string;
    readonly inputHex: string;
  };
}

export function runTarget(target: FuzzTarget, opts: FuzzRunOptions): FuzzReport {
  const rng = new Prng(opts.seed);
  const started = performance.now();
  const instance = target.setup(rng.fork());
  const reasons: Record<string, number> = {};
  let accepted = 0;
  let rejected = 0;
  let input: Uint8Array = new Uint8Array(0);
  let caseNumber = 0;
  const report = (failure?: FuzzReport['failure']): FuzzReport => {
    const elapsedMs = performance.now() - started;
    const base = {
      target: target.name,
      seed: opts.seed,
      cases: caseNumber,
      accepted,
      rejected,
      reasons,
      elapsedMs,
      casesPerSecond: elapsedMs > 0 ? (caseNumber / elapsedMs) * 1000 : 0,
    };
    return failure === undefined ? base : { ...base, failure };
  };
  try {
    for (; caseNumber < opts.cases; caseNumber++) {
      input = instance.generate(rng);
      const outcome = instance.feed(input);
      if (outcome.kind === 'accepted') accepted++;
      else {
        rejected++;
        reasons[outcome.reason] = (reasons[outcome.reason] ?? 0) + 1;
      }
    }
    input = new Uint8Array(0);
    instance.finish();
  } catch (e) {
    return report({
      caseNumber,
      kind: e instanceof FuzzFailure ? 'invariant' : 'exception',
      message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      inputHex: Buffer.from(input).toString('hex'),
    });
  }
  return report();
}
