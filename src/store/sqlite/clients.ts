// SQL for the clients table.
import type Database from 'better-sqlite3';
import { asClientId, type ClientId } from '../../ids.js';
import type { ClientRole } from '../../keys/client-key.js';
import type { ClientRow, ClientTable } from '../types.js';
import { blob, settle } from './util.js';

interface Raw {
  id: number;
  name: string;
  role: string;
  wrapped_key: Buffer;
  created_at_ms: number;
}

const toRow = (r: Raw): ClientRow => ({
  id: asClientId(r.id),
  name: r.name,
  role: r.role as ClientRole,
  wrappedKey: blob(r.wrapped_key),
  createdAtMs: r.created_at_ms,
});

export function sqliteClients(db: Database.Database): ClientTable {
  const insert = db.prepare(
    'INSERT INTO clients (id, name, role, wrapped_key, created_at_ms) VALUES (@id, @name, @role, @wrappedKey, @createdAtMs)',
  );
  const nextId = db.prepare('SELECT coalesce(max(id), 0) + 1 AS id FROM clients').pluck();
  const get = db.prepare<[number], Raw>('SELECT * FROM clients WHERE id = ?');
  const list = db.prepare<[], Raw>('SELECT * FROM clients ORDER BY id');
  const next = (): ClientId => asClientId(nextId.get() as number);
  return {
    insert: (row) =>
      settle(() => {
        const id = row.id ?? next();
        insert.run({ ...row, id, wrappedKey: row.wrappedKey });
        return { ...row, id };
      }),
    nextId: () => settle(next),
    get: (id) => settle(() => mapOpt(get.get(id))),
    list: () => settle(() => list.all().map(toRow)),
  };
}

function mapOpt(r: Raw | undefined): ClientRow | undefined {
  return r === undefined ? undefined : toRow(r);
}
