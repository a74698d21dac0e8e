import { describe, expect, it } from 'vitest';
import { deriveClientWrapKey, generateClientKey } from '../../../src/keys/client-key.js';
import {
  applyGroupRekeyDatagram,
  createGroupKeys,
  generateMemberKey,
  GroupKeyRing,
  signGroupRekey,
  TreeGroupKeys,
  unwrapMemberKeyForClient,
  wrapMemberKeyForClient,
  type GroupRekeyEntry,
} from '../../../src/keys/group/index.js';
import { PROGRAMME, serverPublicKey, Sim } from './harness.js';
import { generateSigningKeyPair } from '../../../src/crypto/sign.js';

const MODES = ['flat', 'lkh', 'batch'] as const;

function grow(mode: (typeof MODES)[number], n: number): { sim: Sim; ids: number[] } {
  const sim = new Sim(mode);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(sim.join().id);
  sim.flush();
  sim.checkAllHoldGroupKey();
  return { sim, ids };
}

describe('member keys (claim 15)', () => {
  it('round-trip under the client wrap key, bound to client and programme', () => {
    const wrapKey = deriveClientWrapKey(generateClientKey());
    const mk = generateMemberKey();
    const w = wrapMemberKeyForClient(wrapKey, 42, PROGRAMME, mk);
    const u = unwrapMemberKeyForClient(wrapKey, 42, PROGRAMME, w);
    expect(u.ok && Buffer.from(u.key).equals(Buffer.from(mk))).toBe(true);
    expect(unwrapMemberKeyForClient(wrapKey, 43, PROGRAMME, w)).toEqual({ ok: false, reason: 'auth_fail' });
    expect(unwrapMemberKeyForClient(wrapKey, 42, PROGRAMME + 1, w)).toEqual({
      ok: false,
      reason: 'auth_fail',
    });
    expect(unwrapMemberKeyForClient(wrapKey, 42, PROGRAMME, w.subarray(0, 20))).toEqual({
      ok: false,
      reason: 'too_short',
    });
  });
});

describe.each(MODES)('%s mode', (mode) => {
  it('two members leaving at once give one rekey that excludes both', () => {
    const { sim, ids } = grow(mode, 9);
    const before = sim.rekeys.length;
    const epoch = sim.group.epoch;
    sim.remove([ids[2]!, ids[6]!]);
    sim.flush();
    expect(sim.rekeys.length).toBe(before + 1);
    expect(sim.group.epoch).toBe(epoch + 1);
    const gone = sim.removed.slice(-2);
    for (const ring of gone) expect(ring.epoch).toBe(epoch);
    sim.checkAllHoldGroupKey();
    expect(sim.members.size).toBe(7);
  });

  it('versions only increase, and welcome() republishes the current keys without a new epoch', () => {
    const { sim, ids } = grow(mode, 6);
    const epochs = [sim.group.epoch];
    sim.remove([ids[0]!]);
    sim.flush();
    epochs.push(sim.group.epoch);
    sim.join();
    sim.flush();
    epochs.push(sim.group.epoch);
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(new Set(epochs).size).toBe(3);
    const w = sim.group.welcome();
    expect(w.epoch).toBe(sim.group.epoch);
    const fresh = new Map<number, number>();
    for (const e of w.wraps) fresh.set(e.node, e.version);
    for (const [node, version] of fresh) expect(version).toBeLessThanOrEqual(sim.published.get(node)!);
  });

  it('a group built from a member list hands every member the group key with welcome()', () => {
    const members = [11, 12, 13, 14, 15].map((id) => [id, generateMemberKey()] as const);
    const g = createGroupKeys(mode, PROGRAMME, members);
    const signer = generateSigningKeyPair();
    let seq = 0;
    const datagrams = signGroupRekey(
      g.welcome(),
      { issuedAtMs: 0, nextMessageSeq: () => seq++ },
      signer.privateKey,
    );
    for (const [id, key] of members) {
      const ring = new GroupKeyRing(PROGRAMME, id, key);
      for (const d of datagrams) applyGroupRekeyDatagram(ring, d, signer.publicKey);
      expect(ring.groupKey()).toEqual(g.groupKey());
    }
  });

  it('starts at a given epoch (a restarted key server): every version is above it, members still reach the key', () => {
    const first = 1000;
    const g = createGroupKeys(mode, PROGRAMME, [], first);
    expect(g.epoch).toBe(first);
    const members = [21, 22, 23, 24].map((id) => [id, generateMemberKey()] as const);
    const rings = members.map(([id, key]) => new GroupKeyRing(PROGRAMME, id, key));
    for (const [id, key] of members) g.join(id, key);
    g.flush();
    // Every current key wrapped for its holders, at the current versions.
    const entries: readonly GroupRekeyEntry[] = g.welcome().wraps;
    for (const e of entries) {
      if (e.underKind === 'node') expect(e.underVersion).toBeGreaterThan(first);
      expect(e.version).toBeGreaterThan(first);
    }
    for (const ring of rings) {
      ring.apply(entries);
      expect(ring.groupKey()).toEqual(g.groupKey());
    }
    expect(() => createGroupKeys(mode, PROGRAMME, [], 0xffffffff)).toThrow(/firstEpoch/);
  });

  it('throws on misuse: a second join, a stranger removed, a short key', () => {
    const g = createGroupKeys(mode, PROGRAMME);
    g.join(1, generateMemberKey());
    expect(() => g.join(1, generateMemberKey())).toThrow(/already/);
    expect(() => g.remove([2])).toThrow(/not a member/);
    expect(() => g.remove([])).toThrow(/at least one/);
    expect(() => g.join(3, new Uint8Array(16))).toThrow(/32 bytes/);
  });
});

describe('batch mode', () => {
  it('folds joins and leaves between flushes into one rekey; each node key changes once', () => {
    const { sim, ids } = grow('batch', 16);
    const n = sim.rekeys.length;
    sim.remove([ids[0]!]);
    sim.remove([ids[15]!]);
    sim.join();
    sim.join();
    expect(sim.group.pending).toBe(true);
    expect(() => sim.group.welcome()).toThrow(/flush/);
    const rekey = sim.flush()!;
    expect(sim.rekeys.length).toBe(n + 1);
    const versions = new Map<number, Set<number>>();
    for (const w of rekey.wraps) versions.set(w.node, (versions.get(w.node) ?? new Set()).add(w.version));
    for (const v of versions.values()) expect(v.size).toBe(1);
    sim.checkAllHoldGroupKey();
    expect(sim.flush()).toBeUndefined();
  });
});

describe('lkh mode', () => {
  it('a leave at 1024 members costs 2·(log2 N - 1) wraps; a join 2·log2 N', () => {
    const members = Array.from({ length: 1024 }, (_, i) => [i + 1, generateMemberKey()] as const);
    const g = new TreeGroupKeys(PROGRAMME, 'lkh', members);
    expect(g.depth()).toBe(10);
    expect(g.remove([500])!.wraps.length).toBe(18);
    expect(g.join(5000, generateMemberKey())!.wraps.length).toBe(20);
    expect(g.depth()).toBe(10);
  });

  it('emptied and refilled, the group still rekeys every member', () => {
    const { sim, ids } = grow('lkh', 5);
    for (const id of ids) sim.remove([id]);
    expect(sim.group.size).toBe(0);
    sim.join();
    sim.checkAllHoldGroupKey();
  });
});

describe('GroupKeyRing on untrusted input', () => {
  const { sim } = grow('lkh', 4);
  const [ring] = [...sim.members.values()];
  const snapshot = () => ({ held: [...ring!.held()], key: ring!.groupKey() });

  it('rejects bad, forged and truncated group_rekey datagrams with a reason and changes nothing', () => {
    const rekey = sim.group.remove([[...sim.members.keys()][3]!])!;
    const other = generateSigningKeyPair();
    const forged = signGroupRekey(rekey, { issuedAtMs: 0, nextMessageSeq: () => 1 }, other.privateKey)[0]!;
    const before = snapshot();
    expect(applyGroupRekeyDatagram(ring!, forged, serverPublicKey)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(applyGroupRekeyDatagram(ring!, forged.subarray(0, 30), serverPublicKey)).toMatchObject({
      ok: false,
      reason: 'too_short',
    });
    const flipped = forged.slice();
    flipped[1] = 2;
    expect(applyGroupRekeyDatagram(ring!, flipped, serverPublicKey)).toMatchObject({
      ok: false,
      reason: 'unknown_type',
    });
    expect(applyGroupRekeyDatagram(ring!, new Uint8Array(0), serverPublicKey)).toMatchObject({ ok: false });
    expect(snapshot()).toEqual(before);
  });

  it('ignores entries that are altered, misnamed or malformed, without throwing', () => {
    const rekey = sim.group.join(9999, generateMemberKey())!;
    const before = snapshot();
    const bad: GroupRekeyEntry[] = rekey.wraps.flatMap((w) => {
      const flipped = w.wrapped.slice();
      flipped[20]! ^= 1;
      return [
        { ...w, wrapped: flipped },
        { ...w, version: w.version + 1 },
        { ...w, underVersion: w.underVersion + 7 },
        { ...w, wrapped: w.wrapped.subarray(0, 10) },
        { ...w, node: -1 },
      ];
    });
    const junk = [
      null,
      3,
      { node: 1 },
      { ...rekey.wraps[0]!, underKind: 'psk' },
    ] as unknown as GroupRekeyEntry[];
    expect(ring!.apply([...bad, ...junk])).toBe(0);
    expect(snapshot()).toEqual(before);
    // The genuine entries still work afterwards.
    expect(ring!.apply(rekey.wraps)).toBeGreaterThan(0);
    expect(ring!.groupKey()).toEqual(sim.group.groupKey());
  });

  it('takes the parts of a rekey in any order', () => {
    const { sim: s2, ids } = grow('lkh', 20);
    const ring2 = s2.members.get(ids[10]!)!;
    const rekey = s2.group.remove([ids[11]!, ids[15]!])!;
    expect(ring2.apply([...rekey.wraps].reverse())).toBeGreaterThan(0);
    expect(ring2.groupKey()).toEqual(s2.group.groupKey());
  });
});
