// SQL for the programmes table, including the per-programme counters for key ids and key-message sequence numbers.
import type Database from 'better-sqlite3';
import { asKeyId, asProgrammeId, asServiceId, type ProgrammeId } from '../../ids.js';
import type { KeyChangeMode } from '../../packet/key-phase.js';
import type { KeyMessageProfile } from '../../packet/profile-code.js';
import type { ProgrammePricing, ProgrammeRow, ProgrammeTable } from '../types.js';
import { settle } from './util.js';

interface Raw {
  id: number;
  service_id: number;
  name: string;
  multicast_group: string;
  port: number;
  key_port: number;
  profile: string;
  mki_length_bytes: number;
  key_change: string;
  segment_length_ms: number;
  crypto_period_ms: number;
  pricing: string;
  created_at_ms: number;
}

const toRow = (r: Raw): ProgrammeRow => ({
  id: asProgrammeId(r.id),
  serviceId: asServiceId(r.service_id),
  name: r.name,
  group: r.multicast_group,
  port: r.port,
  keyPort: r.key_port,
  profile: r.profile as KeyMessageProfile,
  mkiLengthBytes: r.mki_length_bytes,
  keyChange: r.key_change as KeyChangeMode,
  segmentLengthMs: r.segment_length_ms,
  cryptoPeriodMs: r.crypto_period_ms,
  pricing: r.pricing as ProgrammePricing,
  createdAtMs: r.created_at_ms,
});

export function sqliteProgrammes(db: Database.Database): ProgrammeTable {
  const insert = db.prepare(
    `INSERT INTO programmes (service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
       key_change, segment_length_ms, crypto_period_ms, pricing, created_at_ms)
     VALUES (@serviceId, @name, @group, @port, @keyPort, @profile, @mkiLengthBytes, @keyChange, @segmentLengthMs,
       @cryptoPeriodMs, @pricing, @createdAtMs)`,
  );
  const get = db.prepare<[number], Raw>('SELECT * FROM programmes WHERE id = ?');
  const list = db.prepare<[], Raw>('SELECT * FROM programmes ORDER BY id');
  const nextKeyId = db
    .prepare<[number], number>(
      'UPDATE programmes SET next_key_id = next_key_id + 1 WHERE id = ? RETURNING next_key_id - 1',
    )
    .pluck();
  const nextSeq = db
    .prepare<[number], number>(
      'UPDATE programmes SET next_message_seq = next_message_seq + 1 WHERE id = ? RETURNING next_message_seq - 1',
    )
    .pluck();
  const counter = (stmt: Database.Statement<[number], number>, id: ProgrammeId, what: string): number => {
    const v = stmt.get(id);
    if (v === undefined) throw new Error(`programme ${id} does not exist (allocating a ${what})`);
    if (v > 0xffffffff) throw new Error(`programme ${id}: ${what}s are exhausted (u32)`);
    return v;
  };
  return {
    insert: (row) => settle(() => ({ ...row, id: asProgrammeId(Number(insert.run(row).lastInsertRowid)) })),
    get: (id) =>
      settle(() => {
        const r = get.get(id);
        return r === undefined ? undefined : toRow(r);
      }),
    list: () => settle(() => list.all().map(toRow)),
    allocateKeyId: (id) => settle(() => asKeyId(counter(nextKeyId, id, 'key id'))),
    allocateMessageSeq: (id) => settle(() => counter(nextSeq, id, 'message sequence number')),
  };
}
