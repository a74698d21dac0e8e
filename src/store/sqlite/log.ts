// SQL for the request log: append-only (triggers refuse UPDATE and DELETE), hash-chained (src/store/log-chain.ts).
import type Database from 'better-sqlite3';
import { asClientId, asKeyId, asProgrammeId, asSegmentIndex, asServiceId } from '../../ids.js';
import { GENESIS_HASH, logRecordHash } from '../log-chain.js';
import type { LogBasis, LogEvent, LogOutcome, LogRecord, LogTable } from '../types.js';
import { settle } from './util.js';

interface Raw {
  seq: number;
  time_ms: number;
  request_id: string | null;
  client_id: number | null;
  authenticated: number;
  service_id: number | null;
  programme_id: number | null;
  segment: number | null;
  key_id: number | null;
  event: string;
  outcome: string;
  code: string | null;
  basis: string | null;
  period: string | null;
  detail: string | null;
  response: string | null;
  prev_hash: string;
  hash: string;
}

const opt = <T>(v: number | null, f: (n: number) => T): T | null => (v === null ? null : f(v));

const toRecord = (r: Raw): LogRecord => ({
  seq: r.seq,
  timeMs: r.time_ms,
  requestId: r.request_id,
  clientId: opt(r.client_id, asClientId),
  authenticated: r.authenticated === 1,
  serviceId: opt(r.service_id, asServiceId),
  programmeId: opt(r.programme_id, asProgrammeId),
  segment: opt(r.segment, asSegmentIndex),
  keyId: opt(r.key_id, asKeyId),
  event: r.event as LogEvent,
  outcome: r.outcome as LogOutcome,
  code: r.code,
  basis: r.basis as LogBasis | null,
  period: r.period,
  detail: r.detail,
  response: r.response,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export function sqliteLog(db: Database.Database): LogTable {
  const insert = db.prepare(
    `INSERT INTO log (seq, time_ms, request_id, client_id, authenticated, service_id, programme_id, segment, key_id,
       event, outcome, code, basis, period, detail, response, prev_hash, hash)
     VALUES (@seq, @timeMs, @requestId, @clientId, @authenticated, @serviceId, @programmeId, @segment, @keyId,
       @event, @outcome, @code, @basis, @period, @detail, @response, @prevHash, @hash)`,
  );
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1',
  );
  const range = db.prepare<[number, number], Raw>('SELECT * FROM log WHERE seq >= ? ORDER BY seq LIMIT ?');
  const delivered = db.prepare<[number, string], Raw>(
    `SELECT * FROM log WHERE client_id = ? AND request_id = ? AND outcome = 'delivered' AND authenticated = 1`,
  );
  const byEvents = (events: readonly LogEvent[]): Raw[] =>
    events.length === 0
      ? []
      : db
          .prepare<string[], Raw>(
            `SELECT * FROM log WHERE event IN (${events.map(() => '?').join(', ')}) ORDER BY seq`,
          )
          .all(...events);
  return {
    append: (input) =>
      settle(() => {
        if (!db.inTransaction) throw new Error('log.append must run inside store.transact');
        const h = head.get();
        const seq = (h?.seq ?? 0) + 1;
        const prevHash = h?.hash ?? GENESIS_HASH;
        const record: LogRecord = { ...input, seq, prevHash, hash: logRecordHash(prevHash, seq, input) };
        insert.run({ ...record, authenticated: record.authenticated ? 1 : 0 });
        return record;
      }),
    head: () => settle(() => head.get()),
    range: (fromSeq, limit) => settle(() => range.all(fromSeq, limit).map(toRecord)),
    findDelivered: (clientId, requestId) =>
      settle(() => {
        const r = delivered.get(clientId, requestId);
        return r === undefined ? undefined : toRecord(r);
      }),
    byEvents: (events) => settle(() => byEvents(events).map(toRecord)),
  };
}
