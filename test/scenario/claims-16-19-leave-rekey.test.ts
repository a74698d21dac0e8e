// Claims 16-19 on real sockets, in all three rekey modes: a member sends a leave (16); the key server removes it from
// the list (17) and logs a billing stop at the same instant as the removal (18); every removal rekeys so that the
// removed member's ring learns nothing more and can open no content key issued after it (19). Two members leaving
// at once give one rekey that excludes both; concurrent joins and leaves are serialised with increasing epochs.
import { afterEach, describe, expect, it } from 'vitest';
import { applyGroupRekeyDatagram, verifyGroupRekey } from '../../src/keys/group/index.js';
import {
  canOpen,
  rekeyRecords,
  sleep,
  startSessionSystem,
  type SessionSystem,
} from '../server/session-fixture.js';

let sys: SessionSystem | undefined;
afterEach(async () => {
  await sys?.close();
  sys = undefined;
});

const MODES = ['flat', 'lkh', 'batch'] as const;

describe.each(MODES)('claims 16-19, %s', (mode) => {
  it('a leave removes the member, logs the billing stop at the same instant, and rekeys it out', async () => {
    sys = await startSessionSystem({ rekey: mode, batchIntervalMs: 100 });
    const s = sys;
    const sender = await s.enrol('tx', 'sender');
    const members = await Promise.all(['a', 'b', 'c', 'd'].map((n) => s.enrol(n)));
    for (const m of members) await s.join(m);
    await s.waitForEpoch(s.sessions.epoch(s.programme.id)!);
    await sleep(mode === 'batch' ? 250 : 50);
    s.feed(members);
    const before = s.sessions.epoch(s.programme.id)!;
    for (const m of members) expect(m.ring!.epoch).toBe(before);
    const ckBefore = await s.contentKey(sender);
    for (const m of members) expect(canOpen(m, ckBefore)).toBe(true);

    const [leaver, ...stay] = members as [(typeof members)[0], ...typeof members];
    const left = await leaver.client.leaveSession(s.programme.id, { requestId: 'leave-1' });
    expect(left.ok).toBe(true);
    // Claim 17: off the list at once.
    expect(s.sessions.members(s.programme.id)).not.toContain(leaver.credentials.clientId);
    // Claim 18: leave and billing stop, at the same instant.
    const log = await s.log();
    const leave = log.find((r) => r.event === 'leave' && r.clientId === leaver.credentials.clientId)!;
    const stop = log.find((r) => r.event === 'billing_stop' && r.clientId === leaver.credentials.clientId)!;
    expect(leave.outcome).toBe('delivered');
    expect(stop.timeMs).toBe(leave.timeMs);
    expect(left.ok && left.leftAtMs).toBe(leave.timeMs);
    // A retry of the same leave is answered from the log, with no second record.
    const again = await leaver.client.leaveSession(s.programme.id, { requestId: 'leave-1' });
    expect(again).toEqual(left);
    expect((await s.log()).filter((r) => r.event === 'billing_stop').length).toBe(1);

    // Claim 19: the next content key forces the rekey if it has not happened yet; the removed cannot open it.
    const ckAfter = await s.contentKey(sender);
    const after = s.sessions.epoch(s.programme.id)!;
    expect(after).toBeGreaterThan(before);
    await s.waitForEpoch(after);
    await sleep(50);
    s.feed(members);
    for (const m of stay) {
      expect(m.ring!.epoch).toBe(after);
      expect(canOpen(m, ckAfter)).toBe(true);
    }
    const heldBefore = leaver.ring!.heldCount;
    expect(leaver.ring!.epoch).toBe(before);
    expect(leaver.ring!.heldCount).toBe(heldBefore);
    expect(canOpen(leaver, ckAfter)).toBe(false);
    // ...and the rekey that removed it names it.
    const removal = rekeyRecords(await s.log()).find((r) => r.removed?.includes(leaver.credentials.clientId));
    expect(removal?.epoch).toBeGreaterThan(before);

    // Revoked: the removed member is told why.
    const ka = await leaver.client.keepAlive(s.programme.id);
    expect(ka.ok).toBe(false);
    if (!ka.ok) {
      expect(ka.code).toBe('revoked');
      expect(ka.status).toBe(403);
      expect(ka.removedBy).toBe('leave');
      expect(ka.removedAtMs).toBe(leave.timeMs);
    }
    const keys = await leaver.client.sessionKeys(s.programme.id);
    expect(!keys.ok && keys.code).toBe('revoked');
  });

  it('two members leaving at once give one rekey that excludes both', async () => {
    sys = await startSessionSystem({ rekey: mode, batchIntervalMs: 300, removalCoalesceMs: 100 });
    const s = sys;
    const members = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => s.enrol(n)));
    for (const m of members) await s.join(m);
    await sleep(mode === 'batch' ? 700 : 100);
    s.feed(members);
    const before = s.sessions.epoch(s.programme.id)!;
    const rekeysBefore = rekeyRecords(await s.log()).length;
    const [x, y, ...stay] = members as [(typeof members)[0], (typeof members)[0], ...typeof members];
    const answers = await Promise.all([x, y].map((m) => m.client.leaveSession(s.programme.id)));
    expect(answers.every((a) => a.ok)).toBe(true);
    await s.waitForEpoch(before + 1);
    await sleep(mode === 'batch' ? 400 : 150);
    const rekeys = rekeyRecords(await s.log()).slice(rekeysBefore);
    expect(rekeys).toHaveLength(1);
    expect([...rekeys[0]!.removed!].sort((a, b) => a - b)).toEqual(
      [x.credentials.clientId, y.credentials.clientId].sort((a, b) => a - b),
    );
    s.feed(members);
    for (const m of stay) expect(m.ring!.epoch).toBe(before + 1);
    expect(x.ring!.epoch).toBe(before);
    expect(y.ring!.epoch).toBe(before);
  });

  it('concurrent joins and leaves are serialised: epochs increase by one per rekey, never reused', async () => {
    sys = await startSessionSystem({ rekey: mode, batchIntervalMs: 50, removalCoalesceMs: 5 });
    const s = sys;
    const members = await Promise.all(Array.from({ length: 12 }, (_, i) => s.enrol(`m${i}`)));
    await Promise.all(members.slice(0, 8).map((m) => s.join(m)));
    // In batch mode the joins above are answered before their rekey: wait for it, so that what follows is a
    // second rekey whatever the timing (one fast host once folded all sixteen changes into one batch).
    for (let t = 0; rekeyRecords(await s.log()).length === 0 && t < 250; t++) await sleep(20);
    await Promise.all([
      ...members.slice(8).map((m) => s.join(m)),
      ...members.slice(0, 4).map((m) => m.client.leaveSession(s.programme.id)),
    ]);
    await sleep(300);
    const epochs = rekeyRecords(await s.log()).map((r) => r.epoch);
    expect(epochs.length).toBeGreaterThan(1);
    epochs.forEach((e, i) => expect(e).toBe(epochs[0]! + i));
    // On the air: one epoch, one set of datagrams (parts of one signed rekey), never two rekeys under one epoch.
    const seqsByEpoch = new Map<number, Set<number>>();
    for (const d of s.keyPortDatagrams) {
      const v = verifyGroupRekey(new Uint8Array(d), s.secrets.signing.publicKey);
      expect(v.ok).toBe(true);
      if (!v.ok) continue;
      let set = seqsByEpoch.get(v.msg.groupEpoch);
      if (set === undefined) seqsByEpoch.set(v.msg.groupEpoch, (set = new Set()));
      set.add(v.msg.messageSeq - v.msg.part);
    }
    for (const set of seqsByEpoch.values()) expect(set.size).toBe(1);
    // Everybody still in agrees on the group key.
    const current = members.slice(4);
    s.feed(current);
    const epoch = s.sessions.epoch(s.programme.id)!;
    for (const m of current) {
      if (m.ring!.epoch === epoch) continue;
      // Missed a datagram (or a batch join still waiting): the unicast fallback brings it to the current key.
      const k = await m.client.sessionKeys(s.programme.id);
      expect(k.ok).toBe(true);
      if (k.ok) for (const d of k.rekey) applyGroupRekeyDatagram(m.ring!, d, s.secrets.signing.publicKey);
    }
    for (const m of current) expect(m.ring!.epoch).toBe(epoch);
    const keys = new Set(current.map((m) => Buffer.from(m.ring!.groupKey()!.key).toString('hex')));
    expect(keys.size).toBe(1);
  });
});

describe('claim 19, batch', () => {
  it('a removal waiting for the batch (even behind a join) is flushed before the next content key', async () => {
    sys = await startSessionSystem({ rekey: 'batch', batchIntervalMs: 3_600_000 });
    const s = sys;
    const sender = await s.enrol('tx', 'sender');
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => s.enrol(n)));
    for (const m of [a!, b!, c!]) await s.join(m);
    await s.sessions.flushAll();
    await sleep(60);
    s.feed([a!, b!, c!]);
    const before = s.sessions.epoch(s.programme.id)!;
    expect(c!.ring!.epoch).toBe(before);
    expect((await c!.client.leaveSession(s.programme.id)).ok).toBe(true);
    await s.join(d!); // the join takes the waiting removal into the batch, which is not flushed yet
    expect(s.sessions.epoch(s.programme.id)).toBe(before);
    const ck = await s.contentKey(sender);
    const after = s.sessions.epoch(s.programme.id)!;
    expect(after).toBe(before + 1);
    await s.waitForEpoch(after);
    await sleep(60);
    s.feed([a!, b!, c!, d!]);
    for (const m of [a!, b!, d!]) expect(canOpen(m, ck)).toBe(true);
    expect(canOpen(c!, ck)).toBe(false);
    const last = rekeyRecords(await s.log()).at(-1)!;
    expect(last).toMatchObject({ epoch: after, removed: [c!.credentials.clientId] });
  });
});
