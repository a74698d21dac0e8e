// SQL for the nonces table: request nonces remembered for the timestamp window, so an exact replay is refused.
import type Database from 'better-sqlite3';
import type { NonceTable } from '../types.js';
import { settle } from './util.js';

export function sqliteNonces(db: Database.Database): NonceTable {
  const insert = db.prepare(
    'INSERT INTO nonces (client_id, nonce, expires_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const prune = db.prepare('DELETE FROM nonces WHERE expires_at_ms < ?');
  return {
    remember: (clientId, nonceHex, expiresAtMs) =>
      settle(() => insert.run(clientId, nonceHex, expiresAtMs).changes === 1),
    prune: (nowMs) => settle(() => prune.run(nowMs).changes),
  };
}
