// Claims 13-15 on real sockets: a client asks to join a session; the key server checks it, logs the join (billing
// starts), hands it its own member key wrapped under its client key (15), adds it to the member list (13), and
// multicasts the group key on the key port wrapped per member (14) — in all three rekey modes.
import { afterEach, describe, expect, it } from 'vitest';
import { deriveClientWrapKey } from '../../src/keys/client-key.js';
import { unwrapMemberKeyForClient, verifyGroupRekey } from '../../src/keys/group/index.js';
import { sleep, startSessionSystem, type SessionSystem } from '../server/session-fixture.js';

let sys: SessionSystem | undefined;
afterEach(async () => {
  await sys?.close();
  sys = undefined;
});

describe.each(['flat', 'lkh', 'batch'] as const)('claims 13-15, %s', (mode) => {
  it('join: listed, member key under the client key, group key multicast wrapped per member', async () => {
    sys = await startSessionSystem({ rekey: mode, batchIntervalMs: 100 });
    const s = sys;
    const members = await Promise.all(['a', 'b', 'c'].map((n) => s.enrol(n)));
    for (const m of members) {
      const j = await s.join(m);
      // The join answer alone brings the newcomer to the group key of its groupEpoch (batch: at the next flush).
      if (mode === 'batch') expect(j.rekey).toEqual([]);
      else expect(m.ring!.epoch).toBe(j.groupEpoch);
    }

    // Claim 13: the member list.
    expect(s.sessions.members(s.programme.id)).toEqual(
      members.map((m) => m.credentials.clientId).sort((x, y) => x - y),
    );

    // Claim 15: the member key is wrapped under the client key; another client's key does not open it.
    const a = members[0]!.joined!;
    const wrapped = new Uint8Array(Buffer.from(a.memberKey, 'base64'));
    const own = unwrapMemberKeyForClient(
      deriveClientWrapKey(members[0]!.credentials.clientKey),
      a.memberId,
      s.programme.id,
      wrapped,
    );
    expect(own.ok).toBe(true);
    const other = unwrapMemberKeyForClient(
      deriveClientWrapKey(members[1]!.credentials.clientKey),
      a.memberId,
      s.programme.id,
      wrapped,
    );
    expect(other.ok).toBe(false);

    // The join is logged with the wrapped key only (billing starts at the join).
    const log = await s.log();
    const joins = log.filter((r) => r.event === 'join' && r.outcome === 'delivered');
    expect(joins.map((r) => r.clientId)).toEqual(members.map((m) => m.credentials.clientId));

    // Claim 14: the group key reaches every member through the multicast on the key port.
    if (mode === 'batch') await s.sessions.flushAll(); // or wait for the interval: the joins fold into one rekey
    const current = s.sessions.epoch(s.programme.id)!;
    await s.waitForEpoch(current);
    await sleep(20);
    s.feed(members);
    for (const m of members) expect(m.ring!.epoch).toBe(current);
    const keys = members.map((m) => Buffer.from(m.ring!.groupKey()!.key).toString('hex'));
    expect(new Set(keys).size).toBe(1);

    // Every datagram on the key port is a signed group_rekey under 1200 bytes.
    for (const d of s.keyPortDatagrams) {
      expect(d.length).toBeLessThan(1200);
      expect(verifyGroupRekey(new Uint8Array(d), s.secrets.signing.publicKey).ok).toBe(true);
    }
    if (mode === 'flat') {
      // Flat: the last rekey wraps the group key once per member, by member id.
      const last = s.keyPortDatagrams
        .map((d) => verifyGroupRekey(new Uint8Array(d), s.secrets.signing.publicKey))
        .filter((v) => v.ok && v.msg.groupEpoch === current)
        .flatMap((v) => (v.ok ? v.msg.entries : []));
      const underMember = last.filter((e) => e.underKind === 'member').map((e) => e.underId);
      expect(underMember).toContain(members[2]!.credentials.clientId);
    }
  });
});
