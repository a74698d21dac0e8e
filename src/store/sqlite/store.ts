// The SQLite store: one better-sqlite3 connection, WAL, synchronous=FULL (a commit is on disk when COMMIT returns),
// foreign keys on. Transactions are serialised by a promise queue, so an async transaction callback never
// interleaves with another on the shared connection.
import Database from 'better-sqlite3';
import type { Store, StoreTx } from '../types.js';
import { sqliteClients } from './clients.js';
import { sqliteEntitlements } from './entitlements.js';
import { sqliteContentKeys, sqliteSegmentKeys, sqliteServiceKeys } from './keys.js';
import { sqliteLog } from './log.js';
import { migrateSqlite } from './migrations.js';
import { sqliteNonces } from './nonces.js';
import { sqliteProgrammes } from './programmes.js';
import { sqliteServices } from './services.js';

export interface SqliteStoreOptions {
  /** Milliseconds to wait for another process's write lock (default 5000). */
  readonly busyTimeoutMs?: number;
}

export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Store {
  const db = new Database(path, { timeout: opts.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db);
  } catch (err) {
    db.close();
    // SQLite's own words ("file is not a database") do not say which file.
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const tables = {
    clients: sqliteClients(db),
    services: sqliteServices(db),
    programmes: sqliteProgrammes(db),
    entitlements: sqliteEntitlements(db),
    serviceKeys: sqliteServiceKeys(db),
    segmentKeys: sqliteSegmentKeys(db),
    contentKeys: sqliteContentKeys(db),
    nonces: sqliteNonces(db),
    log: sqliteLog(db),
  };
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (closed) throw new Error('store is closed');
    const hooks: (() => void)[] = [];
    const tx: StoreTx = { ...tables, afterCommit: (f) => hooks.push(f) };
    db.exec('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = await fn(tx);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    for (const h of hooks) {
      try {
        h();
      } catch (err) {
        // The transaction is committed; a failed side effect must not turn it into an error for the caller.
        process.emitWarning(`keycast store: after-commit hook failed: ${String(err)}`);
      }
    }
    return result;
  }

  return {
    transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
      const p = queue.then(
        () => run(fn),
        () => run(fn),
      );
      queue = p.catch(() => undefined);
      return p;
    },
    async close(): Promise<void> {
      await queue;
      if (!closed) {
        closed = true;
        db.close();
      }
    },
  };
}
