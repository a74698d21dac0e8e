// SQL for the entitlements table: subscriptions (client, service, period) and per-segment grants
// (client, programme, optional inclusive segment range).
import type Database from 'better-sqlite3';
import { asClientId, asProgrammeId, asSegmentIndex, asServiceId } from '../../ids.js';
import type { EntitlementRow, EntitlementTable } from '../types.js';
import { settle } from './util.js';

interface Raw {
  id: number;
  kind: string;
  client_id: number;
  service_id: number | null;
  period: string | null;
  programme_id: number | null;
  from_segment: number | null;
  to_segment: number | null;
  created_at_ms: number;
}

const toRow = (r: Raw): EntitlementRow =>
  r.kind === 'subscription'
    ? {
        id: r.id,
        kind: 'subscription',
        clientId: asClientId(r.client_id),
        serviceId: asServiceId(r.service_id!),
        period: r.period!,
        createdAtMs: r.created_at_ms,
      }
    : {
        id: r.id,
        kind: 'per_segment',
        clientId: asClientId(r.client_id),
        programmeId: asProgrammeId(r.programme_id!),
        fromSegment: r.from_segment === null ? null : asSegmentIndex(r.from_segment),
        toSegment: r.to_segment === null ? null : asSegmentIndex(r.to_segment),
        createdAtMs: r.created_at_ms,
      };

export function sqliteEntitlements(db: Database.Database): EntitlementTable {
  const insert = db.prepare(
    `INSERT INTO entitlements (kind, client_id, service_id, period, programme_id, from_segment, to_segment, created_at_ms)
     VALUES (@kind, @clientId, @serviceId, @period, @programmeId, @fromSegment, @toSegment, @createdAtMs)`,
  );
  const hasSub = db
    .prepare(
      `SELECT 1 FROM entitlements WHERE kind = 'subscription' AND client_id = ? AND service_id = ? AND period = ? LIMIT 1`,
    )
    .pluck();
  const hasSeg = db
    .prepare(
      `SELECT 1 FROM entitlements WHERE kind = 'per_segment' AND client_id = ? AND programme_id = ?
         AND (from_segment IS NULL OR from_segment <= ?) AND (to_segment IS NULL OR to_segment >= ?) LIMIT 1`,
    )
    .pluck();
  const list = db.prepare<[number], Raw>('SELECT * FROM entitlements WHERE client_id = ? ORDER BY id');
  return {
    insert: (row) =>
      settle(() => {
        const params =
          row.kind === 'subscription'
            ? { ...row, programmeId: null, fromSegment: null, toSegment: null }
            : { ...row, serviceId: null, period: null };
        const id = Number(insert.run(params).lastInsertRowid);
        return { ...row, id };
      }),
    hasSubscription: (clientId, serviceId, period) =>
      settle(() => hasSub.get(clientId, serviceId, period) !== undefined),
    hasSegment: (clientId, programmeId, segment) =>
      settle(() => hasSeg.get(clientId, programmeId, segment, segment) !== undefined),
    listForClient: (clientId) => settle(() => list.all(clientId).map(toRow)),
  };
}
