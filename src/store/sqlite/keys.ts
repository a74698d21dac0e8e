// SQL for the service_keys, segment_keys and content_keys tables (keys at rest, wrapped under the server master key).
import type Database from 'better-sqlite3';
import { asKeyId, asProgrammeId, asSegmentIndex, asServiceId, asSsrc } from '../../ids.js';
import type {
  ContentKeyRow,
  ContentKeyTable,
  SegmentKeyRow,
  SegmentKeyTable,
  ServiceKeyRow,
  ServiceKeyTable,
} from '../types.js';
import { blob, settle } from './util.js';

interface RawServiceKey {
  service_id: number;
  period: string;
  wrapped_key: Buffer;
  created_at_ms: number;
}

const serviceKeyRow = (r: RawServiceKey): ServiceKeyRow => ({
  serviceId: asServiceId(r.service_id),
  period: r.period,
  wrappedKey: blob(r.wrapped_key),
  createdAtMs: r.created_at_ms,
});

export function sqliteServiceKeys(db: Database.Database): ServiceKeyTable {
  const insert = db.prepare(
    `INSERT INTO service_keys (service_id, period, wrapped_key, created_at_ms)
     VALUES (@serviceId, @period, @wrappedKey, @createdAtMs) ON CONFLICT DO NOTHING`,
  );
  const get = db.prepare<[number, string], RawServiceKey>(
    'SELECT * FROM service_keys WHERE service_id = ? AND period = ?',
  );
  return {
    insertIfAbsent: (row) =>
      settle(() => {
        insert.run(row);
        return serviceKeyRow(get.get(row.serviceId, row.period)!);
      }),
    get: (serviceId, period) =>
      settle(() => {
        const r = get.get(serviceId, period);
        return r === undefined ? undefined : serviceKeyRow(r);
      }),
  };
}

interface RawSegmentKey {
  programme_id: number;
  segment: number;
  epoch: number;
  wrapped_key: Buffer;
  created_at_ms: number;
}

interface RawContentKey {
  programme_id: number;
  key_id: number;
  segment: number;
  epoch: number;
  ssrc: number;
  roc: number;
  seq: number;
  activates_at_ms: number;
  expires_at_ms: number;
  wrapped_key: Buffer;
  created_at_ms: number;
}

const segmentKeyRow = (r: RawSegmentKey): SegmentKeyRow => ({
  programmeId: asProgrammeId(r.programme_id),
  segment: asSegmentIndex(r.segment),
  epoch: r.epoch,
  wrappedKey: blob(r.wrapped_key),
  createdAtMs: r.created_at_ms,
});

const contentKeyRow = (r: RawContentKey): ContentKeyRow => ({
  programmeId: asProgrammeId(r.programme_id),
  keyId: asKeyId(r.key_id),
  segment: asSegmentIndex(r.segment),
  epoch: r.epoch,
  ssrc: asSsrc(r.ssrc),
  roc: r.roc,
  seq: r.seq,
  activatesAtMs: r.activates_at_ms,
  expiresAtMs: r.expires_at_ms,
  wrappedKey: blob(r.wrapped_key),
  createdAtMs: r.created_at_ms,
});

export function sqliteSegmentKeys(db: Database.Database): SegmentKeyTable {
  const insert = db.prepare(
    `INSERT INTO segment_keys (programme_id, segment, epoch, wrapped_key, created_at_ms)
     VALUES (@programmeId, @segment, @epoch, @wrappedKey, @createdAtMs) ON CONFLICT DO NOTHING`,
  );
  const get = db.prepare<[number, number, number], RawSegmentKey>(
    'SELECT * FROM segment_keys WHERE programme_id = ? AND segment = ? AND epoch = ?',
  );
  return {
    insertIfAbsent: (row) =>
      settle(() => {
        insert.run(row);
        return segmentKeyRow(get.get(row.programmeId, row.segment, row.epoch)!);
      }),
    get: (programmeId, segment, epoch) =>
      settle(() => {
        const r = get.get(programmeId, segment, epoch);
        return r === undefined ? undefined : segmentKeyRow(r);
      }),
  };
}

export function sqliteContentKeys(db: Database.Database): ContentKeyTable {
  const insert = db.prepare(
    `INSERT INTO content_keys (programme_id, key_id, segment, epoch, ssrc, roc, seq, activates_at_ms, expires_at_ms,
       wrapped_key, created_at_ms)
     VALUES (@programmeId, @keyId, @segment, @epoch, @ssrc, @roc, @seq, @activatesAtMs, @expiresAtMs, @wrappedKey,
       @createdAtMs)`,
  );
  const latest = db
    .prepare<[number], number | null>('SELECT max(segment) FROM content_keys WHERE programme_id = ?')
    .pluck();
  const start = db
    .prepare<[number, number], number | null>(
      'SELECT min(activates_at_ms) FROM content_keys WHERE programme_id = ? AND segment = ?',
    )
    .pluck();
  const list = db.prepare<[number], RawContentKey>(
    'SELECT * FROM content_keys WHERE programme_id = ? ORDER BY key_id',
  );
  return {
    insert: (row) =>
      settle(() => {
        insert.run(row);
      }),
    latestSegment: (programmeId) =>
      settle(() => {
        const v = latest.get(programmeId);
        return v === null || v === undefined ? undefined : asSegmentIndex(v);
      }),
    segmentStartMs: (programmeId, segment) =>
      settle(() => {
        const v = start.get(programmeId, segment);
        return v === null || v === undefined ? undefined : v;
      }),
    list: (programmeId) => settle(() => list.all(programmeId).map(contentKeyRow)),
  };
}
