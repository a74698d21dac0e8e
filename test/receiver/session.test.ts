// The member side of a session (src/receiver/session.ts) against the group key library directly: a key server's
// side made of createGroupKeys + signGroupRekey behind the SessionApi; group_rekey datagrams through the real
// key-message gate and opener; content keys wrapped under the group key.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { asKeyId, asProgrammeId, asSsrc } from '../../src/ids.js';
import { generateContentKey, wrapContentKeyUnderGroupKey } from '../../src/keys/content-key.js';
import {
  createGroupKeys,
  generateMemberKey,
  signGroupRekey,
  type GroupKeys,
  type GroupMode,
  type Rekey,
} from '../../src/keys/group/index.js';
import { signKeyMessage } from '../../src/keys/key-message-sign.js';
import type { ContentKeyMessage } from '../../src/packet/key-message.js';
import { KeyMessageGate } from '../../src/receiver/key-message-gate.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { SessionMember, type SessionApi, type SessionRefusal } from '../../src/receiver/session.js';

const PROGRAMME = 9;
const server = generateSigningKeyPair();
const log = pino({ level: 'silent' });

/** A key server's session side, in memory, on the real group key library. */
function fakeServer(mode: GroupMode) {
  const group: GroupKeys = createGroupKeys(mode, PROGRAMME);
  let seq = 0;
  const removed = new Map<number, string>();
  const calls: string[] = [];
  /** What the key server multicasts after the latest join (flat, lkh; batch multicasts at flush). */
  let multicast: Uint8Array[] = [];
  const sign = (r: Rekey | undefined) =>
    r === undefined
      ? []
      : signGroupRekey(r, { issuedAtMs: Date.now(), nextMessageSeq: () => ++seq }, server.privateKey);
  const revoked = (id: number): SessionRefusal | undefined =>
    removed.has(id)
      ? { ok: false, code: 'revoked', retryable: false, removedBy: removed.get(id)! }
      : undefined;
  /** Removes `id` as the key server would (keep-alive expiry, ...); returns the rekey datagrams. */
  const remove = (id: number, by: string) => {
    removed.set(id, by);
    return sign(group.remove([id]) ?? group.flush());
  };
  return {
    group,
    calls,
    /** The key port after the latest change: the join's rekey, or the batch flush. */
    onAir: () => (mode === 'batch' ? sign(group.flush()) : multicast),
    sign,
    remove,
    api(clientId: number, opts: { keepAliveIntervalMs?: number } = {}): SessionApi {
      return {
        join: () => {
          calls.push(`join ${clientId}`);
          const mk = generateMemberKey();
          const r = group.join(clientId, mk);
          const rekey = sign(r);
          multicast = rekey;
          return Promise.resolve({
            ok: true,
            memberId: clientId,
            mode,
            memberKey: mk.slice(),
            keepAliveIntervalMs: opts.keepAliveIntervalMs ?? 60_000,
            expiryMs: 180_000,
            ackTimeoutMs: 5000,
            groupEpoch: group.epoch,
            rekey,
          });
        },
        ack: (epoch) => {
          calls.push(`ack ${clientId} ${epoch}`);
          return Promise.resolve(revoked(clientId) ?? { ok: true });
        },
        keepAlive: () => {
          calls.push(`keepalive ${clientId}`);
          return Promise.resolve(
            revoked(clientId) ?? {
              ok: true,
              groupEpoch: group.epoch,
              keepAliveIntervalMs: opts.keepAliveIntervalMs ?? 60_000,
            },
          );
        },
        leave: () => {
          calls.push(`leave ${clientId}`);
          const at = Date.now();
          remove(clientId, 'leave');
          return Promise.resolve({ ok: true, leftAtMs: at });
        },
        keys: () => {
          calls.push(`keys ${clientId}`);
          return Promise.resolve(
            revoked(clientId) ?? { ok: true, groupEpoch: group.epoch, rekey: sign(group.welcome()) },
          );
        },
      };
    },
  };
}

function member(
  srv: ReturnType<typeof fakeServer>,
  clientId: number,
  o: { keepAliveIntervalMs?: number; keep?: boolean } = {},
) {
  const learned: number[] = [];
  const m = new SessionMember({
    programmeId: PROGRAMME,
    serverPublicKey: server.publicKey,
    api: srv.api(clientId, o),
    log,
    keepListeningAfterRemoval: o.keep ?? false,
    onGroupKey: () => learned.push(m.epoch ?? -1),
  });
  return { m, learned };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

/** Feeds datagrams through the real gate and opener to the members, as the receiver does. */
function deliver(gate: KeyMessageGate, datagrams: readonly Uint8Array[], ...members: SessionMember[]) {
  const kinds: string[] = [];
  for (const d of datagrams) {
    const r = gate.accept(d);
    kinds.push(r.kind === 'rejected' ? `rejected:${r.reason}` : r.kind);
    if (r.kind === 'group_rekey') for (const m of members) m.onGroupRekey(r.groupRekey);
  }
  return kinds;
}

describe('session member', () => {
  for (const mode of ['flat', 'lkh', 'batch'] as const) {
    it(`${mode}: joins, learns each group epoch from the key port, acks it, keeps the previous group key`, async () => {
      const srv = fakeServer(mode);
      const a = member(srv, 11);
      const b = member(srv, 12);
      const c = member(srv, 13);
      const gate = new KeyMessageGate(asProgrammeId(PROGRAMME), keyMessageOpener(server.publicKey), Date.now);
      await a.m.join();
      // In batch mode the join answer may carry nothing: the keys come with the next flush on the key port.
      expect(deliver(gate, srv.onAir(), a.m).every((k) => k === 'group_rekey')).toBe(true);
      const e1 = a.m.epoch!;
      expect(e1).toBe(srv.group.epoch);
      await b.m.join();
      deliver(gate, srv.onAir(), a.m, b.m);
      await c.m.join();
      deliver(gate, srv.onAir(), a.m, b.m, c.m);
      await tick();
      for (const m of [a.m, b.m, c.m]) expect(m.epoch).toBe(srv.group.epoch);
      expect(a.m.epoch).toBeGreaterThan(e1);
      expect(srv.calls).toContain(`ack 11 ${srv.group.epoch}`);
      expect(a.m.stats.acks).toBeGreaterThanOrEqual(2);
      // The previous group key is still held for content keys issued under it.
      expect(a.m.groupKeysFor(e1 & 0xffff)).toHaveLength(1);
      // Content key under the current group key, through the real opener.
      const g = srv.group.groupKey();
      const opened = openContentKey(g.key, g.epoch, 1);
      const key = opened.unwrapGroup(a.m.groupKeysFor(g.epoch & 0xffff)[0]!.key, g.epoch);
      expect(key).toBeDefined();
      await Promise.all([a.m.close(), b.m.close(), c.m.close()]);
    });
  }

  it('a keep-alive answer that shows the member behind makes it ask sessions/keys, and it catches up', async () => {
    const srv = fakeServer('lkh');
    const a = member(srv, 21, { keepAliveIntervalMs: 20 });
    await a.m.join();
    const b = member(srv, 22);
    await b.m.join(); // a misses this rekey's multicast
    for (let i = 0; i < 50 && a.m.epoch !== srv.group.epoch; i++) await tick();
    expect(a.m.epoch).toBe(srv.group.epoch);
    expect(srv.calls).toContain('keys 21');
    expect(a.m.stats.keyFallbacks).toBeGreaterThanOrEqual(1);
    expect(a.m.stats.keepAlives).toBeGreaterThanOrEqual(1);
    await Promise.all([a.m.close(), b.m.close()]);
  });

  it('a revoked answer stops all asking and reports removedBy; keys issued after removal are counted', async () => {
    const srv = fakeServer('lkh');
    const a = member(srv, 31, { keepAliveIntervalMs: 20, keep: true });
    const b = member(srv, 32);
    await a.m.join();
    await b.m.join();
    const gate = new KeyMessageGate(asProgrammeId(PROGRAMME), keyMessageOpener(server.publicKey), Date.now);
    const rekey = srv.remove(31, 'keepalive');
    deliver(gate, rekey, a.m, b.m);
    for (let i = 0; i < 50 && !a.m.removed; i++) await tick();
    expect(a.m.removed).toBe(true);
    expect(a.m.stats.removedBy).toBe('keepalive');
    // The removed member cannot open the new group key; the remaining one can.
    expect(b.m.epoch).toBe(srv.group.epoch);
    expect(a.m.epoch).toBeLessThan(srv.group.epoch);
    const callsAtRemoval = srv.calls.filter((c) => c.endsWith(' 31') || c.includes(' 31 ')).length;
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.calls.filter((c) => c.endsWith(' 31') || c.includes(' 31 ')).length).toBe(callsAtRemoval);
    // countDecrypted: only keys issued after the removal count.
    a.m.countDecrypted(7, a.m.removedAtMs! - 1);
    expect(a.m.stats.packetsDecryptedAfterRemoval).toBe(0);
    a.m.countDecrypted(8, a.m.removedAtMs! + 1);
    expect(a.m.stats.decryptedByKey.map((k) => k.keyId)).toEqual([7, 8]);
    expect(a.m.stats.packetsDecryptedAfterRemoval).toBe(1);
    await Promise.all([a.m.close(), b.m.close()]);
    expect(srv.calls).not.toContain('leave 31');
  });

  it('a revoked answer naming a missing ack (claim 21) reports removedBy ack and stops asking', async () => {
    const srv = fakeServer('flat');
    const a = member(srv, 61, { keepAliveIntervalMs: 20 });
    const b = member(srv, 62);
    await a.m.join();
    await b.m.join();
    srv.remove(61, 'ack');
    // The key server removed a for a missing ack; its next keep-alive is answered revoked.
    for (let i = 0; i < 50 && !a.m.removed; i++) await tick();
    expect(a.m.stats.removedBy).toBe('ack');
    const asked = srv.calls.filter((c) => c.includes(' 61')).length;
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.calls.filter((c) => c.includes(' 61')).length).toBe(asked);
    await Promise.all([a.m.close(), b.m.close()]);
  });

  it('leave sends the leave message once, records leftAt and removedBy leave, and forgets the group keys', async () => {
    const srv = fakeServer('flat');
    const a = member(srv, 41);
    await a.m.join();
    const epoch = a.m.epoch!;
    await a.m.leave();
    await a.m.close();
    expect(srv.calls.filter((c) => c === 'leave 41')).toHaveLength(1);
    expect(a.m.stats.removedBy).toBe('leave');
    expect(a.m.stats.leftAt).toBeGreaterThan(0);
    expect(a.m.groupKeysFor(epoch & 0xffff)).toHaveLength(0);
  });

  it('the gate admits group_rekey datagrams and counts forged and damaged ones by reason', async () => {
    const srv = fakeServer('lkh');
    const a = member(srv, 51);
    await a.m.join();
    const forger = generateSigningKeyPair();
    const rekey = srv.group.join(52, generateMemberKey())!;
    const good = srv.sign(rekey);
    const forged = signGroupRekey(
      rekey,
      { issuedAtMs: Date.now(), nextMessageSeq: () => 999 },
      forger.privateKey,
    );
    const gate = new KeyMessageGate(asProgrammeId(PROGRAMME), keyMessageOpener(server.publicKey), Date.now);
    const wrongProgramme = signGroupRekey(
      { ...rekey, programmeId: PROGRAMME + 1 },
      { issuedAtMs: Date.now(), nextMessageSeq: () => 1000 },
      server.privateKey,
    );
    const kinds = deliver(
      gate,
      [...forged, good[0]!.subarray(0, 30), ...wrongProgramme, ...good, ...good],
      a.m,
    );
    expect(kinds).toEqual([
      'rejected:bad_signature',
      'rejected:too_short',
      'rejected:wrong_programme',
      ...good.map(() => 'group_rekey'),
      ...good.map(() => 'duplicate'),
    ]);
    expect(a.m.epoch).toBe(srv.group.epoch);
    await a.m.close();
  });
});

function openContentKey(groupKey: Uint8Array, groupEpoch: number, keyId: number) {
  const ck = generateContentKey('AES_CM_128_HMAC_SHA1_80');
  const msg: ContentKeyMessage = {
    type: 'content_key',
    programmeId: PROGRAMME,
    messageSeq: 5000 + keyId,
    issuedAtMs: Date.now(),
    keyId: asKeyId(keyId),
    ssrc: asSsrc(1),
    roc: 0,
    seq: 1,
    profile: 'AES_CM_128_HMAC_SHA1_80',
    mkiLengthBytes: 4,
    activatesAtMs: Date.now(),
    expiresAtMs: Date.now() + 10_000,
    entries: [
      {
        wrapKind: 'group',
        wrapKeyId: 1,
        epoch: groupEpoch & 0xffff,
        wrapped: wrapContentKeyUnderGroupKey(
          groupKey,
          ck,
          'AES_CM_128_HMAC_SHA1_80',
          PROGRAMME,
          groupEpoch,
          keyId,
        ),
      },
    ],
  };
  const r = keyMessageOpener(server.publicKey)(signKeyMessage(msg, server.privateKey));
  if (!r.ok || !('key' in r)) throw new Error('content key message did not open');
  expect(r.key.groupEpochs).toEqual([groupEpoch & 0xffff]);
  return r.key;
}
