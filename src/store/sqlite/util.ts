// Helpers shared by the SQLite table modules.

/** Runs synchronous SQLite work and returns its result as a promise (rejecting instead of throwing). */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** A BLOB column as a plain Uint8Array (better-sqlite3 returns a Buffer). */
export function blob(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError('expected a BLOB column');
  return new Uint8Array(v);
}
