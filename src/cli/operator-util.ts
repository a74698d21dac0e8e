// Small helpers for the operator commands: option parsers, JSON-line output, and the error boundary that turns a
// failure into a message on stderr and exit status 1.
import { InvalidArgumentError } from 'commander';

export const DEFAULT_DATA_DIR = './.keycast';

/** Parses an integer in [min, max] or throws commander's InvalidArgumentError. */
export function intOption(name: string, min = 0, max = 0xffffffff): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be in ${min}..${max}`);
    return n;
  };
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration such as 300s, 5m, 1h or 10000ms (a bare number is milliseconds). */
export function durationMs(value: string): number {
  const m = /^([0-9]+)(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) throw new InvalidArgumentError(`${value} is not a duration (e.g. 300s, 5m, 10000ms)`);
  return Number(m[1]) * UNITS_MS[m[2] ?? 'ms']!;
}

/** Writes one JSON line to stdout: the machine-readable result of a command. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Wraps a command action: any error becomes `keycast: <message>` on stderr and exit status 1 (the stack too when
 * KEYCAST_DEBUG is set).
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      process.stderr.write(`keycast: ${process.env.KEYCAST_DEBUG ? (e.stack ?? e.message) : e.message}\n`);
      process.exitCode = 1;
    }
  };
}
