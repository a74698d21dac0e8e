// Claims 20-24 on real sockets: members confirm each group key (20); one that does not confirm within the ack
// timeout is removed (21); members send keep-alives at the announced interval (22); a silent one is removed after
// the expiry (24), on the key server's monotonic clock. The clock test: ten members keep time while the wall clock
// steps forward an hour and back two: nobody is removed and no rekey happens. Many members expiring in one tick are
// removed in one rekey. Billing: per started minute, an evicted member billed up to its last keep-alive.
// The monotonic clock is injected (manualMono) and the expiry checks run by calling tick(), so time is exact.
import { afterEach, describe, expect, it } from 'vitest';
import { rateLog } from '../../src/billing/rate.js';
import {
  canOpen,
  rekeyRecords,
  sleep,
  startSessionSystem,
  type SessionMember,
  type SessionSystem,
} from '../server/session-fixture.js';

let sys: SessionSystem | undefined;
afterEach(async () => {
  await sys?.close();
  sys = undefined;
});

const MODES = ['flat', 'lkh', 'batch'] as const;
const HOUR_MS = 3_600_000;
const MANUAL = { manualMono: true, tickMs: HOUR_MS, keepAliveIntervalMs: 2000, ackTimeoutMs: 5000 } as const;

async function joinAll(s: SessionSystem, members: readonly SessionMember[]): Promise<void> {
  for (const m of members) await s.join(m);
  if (s.sessions.opts.rekey === 'batch') await s.sessions.flushAll();
  await sleep(60);
  s.feed(members);
  await s.ackAll(members);
}

async function keepAliveAll(members: readonly SessionMember[], programmeId: number): Promise<void> {
  for (const m of members) {
    const r = await m.client.keepAlive(programmeId);
    if (!r.ok) throw new Error(`${m.name}: keep-alive refused: ${r.code}`);
  }
}

describe.each(MODES)('claims 20-24, %s', (mode) => {
  it('claims 20-21: a member that does not ack a delivered group key in time is removed (revoked, by ack)', async () => {
    sys = await startSessionSystem({ rekey: mode, ...MANUAL, batchIntervalMs: HOUR_MS });
    const s = sys;
    const sender = await s.enrol('tx', 'sender');
    const members = await Promise.all(['a', 'b', 'c'].map((n) => s.enrol(n)));
    await joinAll(s, members);
    const [late, ...good] = members as [SessionMember, ...SessionMember[]];
    // A new member makes a rekey that the three must ack.
    const newcomer = await s.enrol('d');
    await s.join(newcomer);
    if (mode === 'batch') await s.sessions.flushAll();
    await sleep(60);
    s.feed([...members, newcomer]);
    await s.ackAll([...good, newcomer]); // `late` never acks the new epoch
    const pid = s.programme.id;
    s.mono.now! += 4000; // within the ack timeout, everyone keeping alive
    await keepAliveAll(members, pid);
    await keepAliveAll([newcomer], pid);
    expect(await s.sessions.tick()).toEqual([]);
    s.mono.now! += 1500; // 5.5 s after the delivery: past the ack timeout
    await keepAliveAll([...good, newcomer], pid);
    const removed = await s.sessions.tick();
    expect(removed).toEqual([{ programmeId: pid, clientId: late.credentials.clientId, by: 'ack' }]);
    if (mode === 'batch') await s.sessions.flushAll();
    const evict = (await s.log()).find((r) => r.event === 'evict')!;
    expect(JSON.parse(evict.detail!)).toMatchObject({ by: 'ack' });
    const r = await late.client.ackGroupKey(pid, late.ring!.epoch!);
    expect(!r.ok && [r.code, r.removedBy]).toEqual(['revoked', 'ack']);
    // Claim 19 for this removal: the next content key is beyond it.
    const ck = await s.contentKey(sender);
    await sleep(60);
    s.feed(members);
    expect(canOpen(late, ck)).toBe(false);
    for (const m of [...good]) expect(canOpen(m, ck)).toBe(true);
  });

  it('claims 22-24: keep-alives keep members in; a silent member is removed after the expiry (revoked, by keepalive)', async () => {
    sys = await startSessionSystem({ rekey: mode, ...MANUAL, batchIntervalMs: HOUR_MS });
    const s = sys;
    const members = await Promise.all(['a', 'b', 'c'].map((n) => s.enrol(n)));
    await joinAll(s, members);
    const pid = s.programme.id;
    expect(members[0]!.joined!.keepAliveIntervalMs).toBe(2000);
    expect(members[0]!.joined!.expiryMs).toBe(6000);
    const [silent, ...alive] = members as [SessionMember, ...SessionMember[]];
    for (let t = 0; t < 6; t++) {
      s.mono.now! += 2000;
      await keepAliveAll(alive, pid);
      if (t < 2) await keepAliveAll([silent], pid);
      const removed = await s.sessions.tick();
      // silent's last keep-alive is at +4 s; it is removed once more than 6 s have passed since (at +12 s).
      if (t < 5) expect(removed).toEqual([]);
      else
        expect(removed).toEqual([
          { programmeId: pid, clientId: silent.credentials.clientId, by: 'keepalive' },
        ]);
    }
    expect(s.sessions.members(pid)).toEqual(alive.map((m) => m.credentials.clientId).sort((a, b) => a - b));
    const evict = (await s.log()).find((r) => r.event === 'evict')!;
    const stop = (await s.log()).find((r) => r.event === 'billing_stop')!;
    expect(stop.timeMs).toBe(evict.timeMs);
    expect(JSON.parse(evict.detail!)).toMatchObject({ by: 'keepalive' });
    expect(JSON.parse(stop.detail!)).toMatchObject({ by: 'keepalive', billedMs: 4000 });
    const r = await silent.client.keepAlive(pid);
    expect(!r.ok && [r.code, r.status, r.removedBy]).toEqual(['revoked', 403, 'keepalive']);
  });

  it('the clock test: wall clock +1 h then -2 h, nobody removed and no rekey; only a real silence removes', async () => {
    sys = await startSessionSystem({ rekey: mode, ...MANUAL, batchIntervalMs: HOUR_MS });
    const s = sys;
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => s.enrol(`m${i}`)));
    await joinAll(s, members);
    const pid = s.programme.id;
    const rekeys = rekeyRecords(await s.log()).length;
    const epoch = s.sessions.epoch(pid);
    for (const step of [HOUR_MS, -2 * HOUR_MS]) {
      s.wall.offsetMs += step; // both the key server and the clients see the stepped wall clock
      for (let i = 0; i < 3; i++) {
        s.mono.now! += 2000;
        await keepAliveAll(members, pid);
        expect(await s.sessions.tick()).toEqual([]);
      }
    }
    if (mode === 'batch') await s.sessions.flushAll();
    expect(s.sessions.members(pid)).toHaveLength(10);
    expect(rekeyRecords(await s.log())).toHaveLength(rekeys);
    expect(s.sessions.epoch(pid)).toBe(epoch);
    // A real silence (on the monotonic clock) does remove: one member stops, the rest go on.
    const [quiet, ...rest] = members as [SessionMember, ...SessionMember[]];
    for (let i = 0; i < 4; i++) {
      s.mono.now! += 2000;
      await keepAliveAll(rest, pid);
      await s.sessions.tick();
    }
    expect(s.sessions.members(pid)).not.toContain(quiet.credentials.clientId);
    expect(s.sessions.members(pid)).toHaveLength(9);
  });

  it('many members expiring in one tick are removed in one rekey', async () => {
    sys = await startSessionSystem({ rekey: mode, ...MANUAL, batchIntervalMs: HOUR_MS });
    const s = sys;
    const members = await Promise.all(Array.from({ length: 12 }, (_, i) => s.enrol(`m${i}`)));
    await joinAll(s, members);
    const pid = s.programme.id;
    const rekeys = rekeyRecords(await s.log()).length;
    const alive = members.slice(0, 4);
    s.mono.now! += 7000;
    await keepAliveAll(alive, pid);
    const removed = await s.sessions.tick();
    expect(removed).toHaveLength(8);
    expect(removed.every((r) => r.by === 'keepalive')).toBe(true);
    if (mode === 'batch') await s.sessions.flushAll();
    const after = rekeyRecords(await s.log()).slice(rekeys);
    expect(after).toHaveLength(1);
    expect(after[0]!.removed).toHaveLength(8);
    await sleep(60);
    s.feed(members);
    const epoch = s.sessions.epoch(pid)!;
    for (const m of alive) expect(m.ring!.epoch).toBe(epoch);
    for (const m of members.slice(4)) expect(m.ring!.epoch).toBeLessThan(epoch);
  });
});

describe('session billing', () => {
  it('bills per started minute; an evicted member up to its last keep-alive', async () => {
    sys = await startSessionSystem({ rekey: 'lkh', ...MANUAL });
    const s = sys;
    const [a, b, c] = (await Promise.all(['a', 'b', 'c'].map((n) => s.enrol(n)))) as [
      SessionMember,
      SessionMember,
      SessionMember,
    ];
    await joinAll(s, [a, b, c]);
    const pid = s.programme.id;
    // a leaves after 61 s (2 started minutes); b keeps alive up to 90 s, then goes silent (2 minutes, not 2.x);
    // c leaves after 30 s (1 minute).
    for (let t = 1; t <= 45; t++) {
      s.mono.now! += 2000;
      await keepAliveAll([b], pid);
      if (t <= 30) await keepAliveAll([a], pid);
      if (t < 15) await keepAliveAll([c], pid);
      if (t === 15) expect((await c.client.leaveSession(pid)).ok).toBe(true);
      await sleep(30); // the rekey of a leave goes out after its coalescing delay
      s.feed([a, b]);
      await s.ackAll([a, b].filter((m) => s.sessions.members(pid).includes(m.credentials.clientId)));
      if (t === 31) {
        s.mono.now! -= 1000; // a leaves at 61 s
        expect((await a.client.leaveSession(pid)).ok).toBe(true);
        s.mono.now! += 1000;
      }
      await s.sessions.tick();
    }
    // b silent from 90 s: removed once the expiry has passed, billed to 90 s.
    s.mono.now! += 7000;
    expect(await s.sessions.tick()).toEqual([
      { programmeId: pid, clientId: b.credentials.clientId, by: 'keepalive' },
    ]);
    const log = await s.log();
    const stops = log
      .filter((r) => r.event === 'billing_stop')
      .map((r) => [r.clientId, (JSON.parse(r.detail!) as { billedMs: number }).billedMs]);
    expect(stops).toEqual([
      [c.credentials.clientId, 30_000],
      [a.credentials.clientId, 61_000],
      [b.credentials.clientId, 90_000],
    ]);
    const invoice = rateLog(log, {
      version: 1,
      currency: 'EUR',
      subscriptions: [],
      segments: [],
      sessions: [{ programmeId: pid, minutePrice: 7 }],
    });
    const lines = invoice.lines.map((l) => [l.client, l.item, l.quantity, l.amount]);
    expect(lines).toEqual([
      [a.credentials.clientId, `session programme=${pid}`, 2, 14],
      [b.credentials.clientId, `session programme=${pid}`, 2, 14],
      [c.credentials.clientId, `session programme=${pid}`, 1, 7],
    ]);
  });
});
