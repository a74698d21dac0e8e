// SQL for the services table.
import type Database from 'better-sqlite3';
import { asServiceId } from '../../ids.js';
import type { ServiceRow, ServiceTable } from '../types.js';
import { settle } from './util.js';

interface Raw {
  id: number;
  name: string;
  created_at_ms: number;
}

const toRow = (r: Raw): ServiceRow => ({ id: asServiceId(r.id), name: r.name, createdAtMs: r.created_at_ms });

export function sqliteServices(db: Database.Database): ServiceTable {
  const insert = db.prepare('INSERT INTO services (name, created_at_ms) VALUES (@name, @createdAtMs)');
  const get = db.prepare<[number], Raw>('SELECT * FROM services WHERE id = ?');
  const list = db.prepare<[], Raw>('SELECT * FROM services ORDER BY id');
  return {
    insert: (row) => settle(() => ({ ...row, id: asServiceId(Number(insert.run(row).lastInsertRowid)) })),
    get: (id) =>
      settle(() => {
        const r = get.get(id);
        return r === undefined ? undefined : toRow(r);
      }),
    list: () => settle(() => list.all().map(toRow)),
  };
}
