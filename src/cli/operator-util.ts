// Small helpers for the operator commands: option parsers, JSON-line output, and the error boundary that turns a
// failure into a message on stderr and exit status 1.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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

/** A duration as the options take it, for `--help` defaults: 300000 → '300s', 250 → '250ms'. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Checks, before any work is done or logged, that `path` can be written: its directory exists and is writable,
 * and it is not a directory. An existing file is refused unless `overwrite` (then it must be writable);
 * `refusal` is appended to that message (e.g. 'use --force to replace it').
 */
export async function checkOutputFile(
  path: string,
  opts: { readonly overwrite: boolean; readonly refusal?: string },
): Promise<void> {
  const existing = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new Error(`cannot write ${path}: ${err.message}`);
  });
  if (existing !== undefined) {
    if (existing.isDirectory()) throw new Error(`${path} is a directory`);
    if (!opts.overwrite) {
      throw new Error(`${path} already exists${opts.refusal === undefined ? '' : `; ${opts.refusal}`}`);
    }
    await access(path, constants.W_OK).catch(() => {
      throw new Error(`${path} is not writable`);
    });
    return;
  }
  const dir = dirname(resolve(path));
  const d = await stat(dir).catch(() => undefined);
  if (d === undefined) throw new Error(`cannot write ${path}: directory ${dir} does not exist`);
  if (!d.isDirectory()) throw new Error(`cannot write ${path}: ${dir} is not a directory`);
  await access(dir, constants.W_OK).catch(() => {
    throw new Error(`cannot write ${path}: directory ${dir} is not writable`);
  });
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
