// The session endpoints through Fastify inject, with a real SQLite store: who may join, the typed refusals
// (not_session, forbidden_role, not_member, revoked with removedBy), idempotent join and leave, a malformed ack, and
// log before deliver for a join (nothing of it stays when its rekey cannot be logged).
import Database from 'better-sqlite3';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveClientWrapKey } from '../../src/keys/client-key.js';
import { unwrapMemberKeyForClient } from '../../src/keys/group/index.js';
import { sessionManagerOf } from '../../src/server/app.js';
import type { SessionJoinResponseBody } from '../../src/server/wire.js';
import { createProgramme, type ProgrammeRow } from '../../src/store/index.js';
import { inject, logRecords, setup, type Fixture } from './fixture.js';

let f: Fixture;
let session: ProgrammeRow;
beforeEach(async () => {
  f = await setup();
  session = await createProgramme(f.store, {
    serviceId: f.service.id,
    name: 'match',
    group: '239.255.0.3',
    port: 5010,
    pricing: 'session',
  });
});
afterEach(async () => {
  await f.close();
});

const post = (url: string, body: object) => ({ method: 'POST' as const, url, body });

describe('POST /v1/sessions/*', () => {
  it('refuses a programme not sold per session, a sender, and a client that is not a member', async () => {
    const r1 = await inject(
      f,
      f.receiver,
      post('/v1/sessions/join', { programmeId: f.programme.id, requestId: 'j1' }),
    );
    expect([r1.statusCode, r1.json().error.code]).toEqual([409, 'not_session']);
    const r2 = await inject(
      f,
      f.sender,
      post('/v1/sessions/join', { programmeId: session.id, requestId: 'j2' }),
    );
    expect([r2.statusCode, r2.json().error.code]).toEqual([403, 'forbidden_role']);
    for (const url of ['/v1/sessions/keepalive', '/v1/sessions/keys']) {
      const r = await inject(f, f.receiver, post(url, { programmeId: session.id }));
      expect([r.statusCode, r.json().error.code, r.json().error.removedBy]).toEqual([
        403,
        'not_member',
        undefined,
      ]);
    }
    const r3 = await inject(f, f.receiver, post('/v1/sessions/join', { programmeId: 999, requestId: 'j3' }));
    expect(r3.json().error.code).toBe('unknown_programme');
    // Every refusal is in the log as a denial.
    const denied = (await logRecords(f)).filter((r) => r.outcome === 'denied').map((r) => [r.event, r.code]);
    expect(denied).toEqual([
      ['join', 'not_session'],
      ['join', 'forbidden_role'],
      ['keepalive', 'not_member'],
      ['session_keys', 'not_member'],
      ['join', 'unknown_programme'],
    ]);
  });

  it('join and leave are idempotent by requestId; a later request is revoked with removedBy leave', async () => {
    const join = post('/v1/sessions/join', { programmeId: session.id, requestId: 'j1' });
    const a = await inject(f, f.receiver, join);
    expect(a.statusCode).toBe(200);
    const b = await inject(f, f.receiver, join);
    expect(b.json().memberKey).toBe(a.json().memberKey);
    expect((await logRecords(f)).filter((r) => r.event === 'join')).toHaveLength(1);
    const ahead = await inject(
      f,
      f.receiver,
      post('/v1/sessions/ack', { programmeId: session.id, groupEpoch: a.json().groupEpoch + 1 }),
    );
    expect(ahead.json().error.code).toBe('invalid_request');
    const ack = await inject(
      f,
      f.receiver,
      post('/v1/sessions/ack', { programmeId: session.id, groupEpoch: 1 }),
    );
    expect(ack.json()).toEqual({ programmeId: session.id, groupEpoch: 1 });
    const leave = post('/v1/sessions/leave', { programmeId: session.id, requestId: 'l1' });
    const l1 = await inject(f, f.receiver, leave);
    const l2 = await inject(f, f.receiver, leave);
    expect(l2.json()).toEqual(l1.json());
    expect(l1.json()).toEqual({ programmeId: session.id, leftAtMs: f.clock.now });
    const ka = await inject(f, f.receiver, post('/v1/sessions/keepalive', { programmeId: session.id }));
    expect([ka.statusCode, ka.json().error]).toEqual([
      403,
      { code: 'revoked', message: expect.any(String), removedBy: 'leave', removedAtMs: f.clock.now },
    ]);
    // The old join's requestId now belongs to a finished session.
    const stale = await inject(f, f.receiver, join);
    expect(stale.json().error.code).toBe('revoked');
    // A new join starts a new session.
    const again = await inject(
      f,
      f.receiver,
      post('/v1/sessions/join', { programmeId: session.id, requestId: 'j2' }),
    );
    expect(again.statusCode).toBe(200);
    expect(sessionManagerOf(f.app)!.members(session.id)).toEqual([f.receiver.clientId]);
  });

  it('a join whose rekey cannot be logged leaves nothing: no member, no join record, a clean retry', async () => {
    const raw = new Database(f.dbPath);
    raw.exec(
      "CREATE TRIGGER rekey_fails BEFORE INSERT ON log WHEN NEW.event = 'group_rekey' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
    );
    raw.close();
    const join = post('/v1/sessions/join', { programmeId: session.id, requestId: 'j1' });
    const r = await inject(f, f.receiver, join);
    expect([r.statusCode, r.json().error.code]).toEqual([503, 'log_unavailable']);
    expect(r.body).not.toMatch(/memberKey/);
    expect(sessionManagerOf(f.app)!.members(session.id)).toEqual([]);
    expect((await logRecords(f)).filter((x) => x.event === 'join')).toEqual([]);
    const fix = new Database(f.dbPath);
    fix.exec('DROP TRIGGER rekey_fails');
    fix.close();
    const retry = await inject(f, f.receiver, join);
    expect(retry.statusCode).toBe(200);
    expect(sessionManagerOf(f.app)!.members(session.id)).toEqual([f.receiver.clientId]);
  });
});

describe('session logging', () => {
  it('logs joins, rekeys and leaves but no member key, group key or rekey datagram', async () => {
    await f.close();
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    f = await setup({ logger: pino({ level: 'trace' }, stream) });
    session = await createProgramme(f.store, {
      serviceId: f.service.id,
      name: 'match',
      group: '239.255.0.3',
      port: 5010,
      pricing: 'session',
    });
    const j = (
      await inject(f, f.receiver, post('/v1/sessions/join', { programmeId: session.id, requestId: 'j1' }))
    ).json<SessionJoinResponseBody>();
    const wrapKey = deriveClientWrapKey(f.receiver.clientKey);
    const mk = unwrapMemberKeyForClient(
      wrapKey,
      f.receiver.clientId,
      session.id,
      Buffer.from(j.memberKey, 'base64'),
    );
    expect(mk.ok).toBe(true);
    const gk = sessionManagerOf(f.app)!;
    expect(gk.epoch(session.id)).toBe(j.groupEpoch);
    await inject(f, f.receiver, post('/v1/sessions/leave', { programmeId: session.id, requestId: 'l1' }));
    await new Promise((r) => setTimeout(r, 100)); // the removal's rekey
    const text = chunks.join('');
    expect(text).toMatch(/group rekey/);
    expect(text).toMatch(/sessions\/join/);
    const secrets = [j.memberKey, ...j.rekey];
    if (mk.ok) secrets.push(Buffer.from(mk.key).toString('base64'), Buffer.from(mk.key).toString('hex'));
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
