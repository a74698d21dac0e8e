// The group-rekey path of a session member: the decoder (src/packet/group-rekey.ts), signature check and
// application to the member's key ring (src/keys/group/rekey-messages.ts applyGroupRekeyDatagram, ring.ts), with a
// real lkh group on the key-server side rekeying as members join and leave.
//
// Per case: the decoder never throws and what it decodes encodes back to the same bytes; a mutant of a signed
// datagram changes nothing in the ring (node versions held, group key); every valid rekey, fed in order between
// the garbage, leaves the ring with exactly the server's group key. A second ring takes mutants the server
// re-signed: nothing throws, and it never holds a group key other than the server's for that epoch.
import { asClientId } from '../../src/ids.js';
import {
  applyGroupRekeyDatagram,
  createGroupKeys,
  GroupKeyRing,
  signGroupRekey,
  type GroupKeys,
  type Rekey,
} from '../../src/keys/group/index.js';
import { decodeGroupRekey, encodeGroupRekey } from '../../src/packet/group-rekey.js';
import {
  keyMessageFields,
  keyMessageKeys,
  NOW_MS,
  PROGRAMME_ID,
  resign,
  signedPart,
} from '../key-messages.js';
import { mutate, randomInput } from '../mutate.js';
import type { Prng } from '../prng.js';
import {
  ACCEPTED,
  check,
  rejected,
  type CaseOutcome,
  type FuzzInstance,
  type FuzzTarget,
} from '../target.js';

const SELF = 3;
const KEPT_DATAGRAMS = 64;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function checkDecoder(input: Uint8Array): void {
  const d = decodeGroupRekey(input);
  if (!d.ok) return;
  const expected = input.slice();
  expected[2] = 0;
  expected[3] = 0;
  expected[25] = 0;
  const again = encodeGroupRekey(d.msg, d.msg.signature);
  check(Buffer.compare(again, expected) === 0, () => `group_rekey does not round-trip: ${hex(again)}`);
}

function ringState(ring: GroupKeyRing): string {
  const g = ring.groupKey();
  return JSON.stringify({ held: [...ring.held()], group: g === undefined ? null : [g.epoch, hex(g.key)] });
}

type Expect = { kind: 'valid'; epoch: number; last: boolean } | { kind: 'garbage' } | { kind: 'resigned' };

function setup(rng: Prng): FuzzInstance {
  const keys = keyMessageKeys(rng);
  const memberKeys = new Map<number, Uint8Array>();
  for (let id = 1; id <= 6; id++) memberKeys.set(id, rng.bytes(32));
  const group: GroupKeys = createGroupKeys('lkh', PROGRAMME_ID, memberKeys);
  const ring = new GroupKeyRing(PROGRAMME_ID, SELF, memberKeys.get(SELF)!);
  const resignedRing = new GroupKeyRing(PROGRAMME_ID, SELF, memberKeys.get(SELF)!);
  const groupKeyAt = new Map<number, string>();
  const queue: { bytes: Uint8Array; epoch: number; last: boolean }[] = [];
  const applied: Uint8Array[] = [];
  const appliedHex = new Set<string>();
  let messageSeq = 1;
  let nextMember = 7;
  let expect: Expect = { kind: 'garbage' };

  function enqueue(rekey: Rekey): void {
    groupKeyAt.set(group.epoch, hex(group.groupKey().key));
    const parts = signGroupRekey(
      rekey,
      { issuedAtMs: NOW_MS, nextMessageSeq: () => messageSeq++, maxDatagramBytes: rng.pick([300, 1199]) },
      keys.serverPrivateKey,
    );
    parts.forEach((bytes, i) => queue.push({ bytes, epoch: rekey.epoch, last: i === parts.length - 1 }));
  }

  /** The next rekey: someone joins, or someone other than this member leaves. */
  function rekeyAgain(r: Prng): void {
    const others = [...memberKeys.keys()].filter((id) => id !== SELF && group.has(id));
    if (others.length > 2 && r.chance(0.5)) {
      enqueue(group.remove([r.pick(others)])!);
    } else {
      const id = nextMember++;
      const key = r.bytes(32);
      memberKeys.set(id, key);
      enqueue(group.join(asClientId(id), key)!);
    }
  }

  enqueue(group.welcome());

  function generate(r: Prng): Uint8Array {
    const roll = r.below(100);
    if (roll < 4 || applied.length === 0) {
      if (queue.length === 0) rekeyAgain(r);
      const next = queue.shift()!;
      expect = { kind: 'valid', epoch: next.epoch, last: next.last };
      return next.bytes;
    }
    const src = r.pick(applied);
    if (roll < 24) {
      expect = { kind: 'resigned' };
      const signed = signedPart(src);
      return resign(mutate(r, { input: signed, fields: keyMessageFields(signed), others: applied }), keys);
    }
    expect = { kind: 'garbage' };
    if (r.chance(0.05)) return randomInput(r, 1200);
    return mutate(r, { input: src, fields: keyMessageFields(src), others: applied });
  }

  function feed(input: Uint8Array): CaseOutcome {
    checkDecoder(input);
    if (expect.kind === 'valid') {
      const got = applyGroupRekeyDatagram(ring, input, keys.serverPublicKey);
      check(got.ok, () => `a valid group_rekey was refused: ${got.ok ? '' : got.reason}`);
      applyGroupRekeyDatagram(resignedRing, input, keys.serverPublicKey);
      if (expect.last) {
        const g = ring.groupKey();
        check(
          g !== undefined && g.epoch === expect.epoch && hex(g.key) === groupKeyAt.get(expect.epoch),
          () =>
            `after the rekey to epoch ${expect.kind === 'valid' ? expect.epoch : -1} the ring holds ${ringState(ring)}`,
        );
      }
      applied.push(input);
      appliedHex.add(hex(input));
      if (applied.length > KEPT_DATAGRAMS) applied.shift();
      return ACCEPTED;
    }
    const target = expect.kind === 'resigned' ? resignedRing : ring;
    const before = ringState(target);
    const r = applyGroupRekeyDatagram(target, input, keys.serverPublicKey);
    const after = ringState(target);
    const g = target.groupKey();
    check(
      g === undefined || !groupKeyAt.has(g.epoch) || groupKeyAt.get(g.epoch) === hex(g.key),
      () => `the ring holds a group key for epoch ${g?.epoch} that the server never made`,
    );
    if (expect.kind === 'garbage' && r.ok) {
      check(appliedHex.has(hex(input)), () => 'a mutant of a signed group_rekey was applied');
      check(after === before, () => 'a repeated group_rekey changed the ring');
    }
    if (!r.ok) {
      check(after === before, () => `the ring changed after ${r.reason}: ${before} → ${after}`);
      return rejected((expect.kind === 'resigned' ? 'resigned:' : '') + r.reason);
    }
    return ACCEPTED;
  }

  return {
    generate,
    feed,
    finish() {
      // After all the garbage, the rest of the rekey in flight and one more rekey still reach the member.
      rekeyAgain(rng.fork());
      for (const q of queue.splice(0)) {
        const got = applyGroupRekeyDatagram(ring, q.bytes, keys.serverPublicKey);
        check(got.ok, () => `a valid group_rekey after the run was refused: ${got.ok ? '' : got.reason}`);
      }
      const g = ring.groupKey();
      check(
        g !== undefined && g.epoch === group.epoch && hex(g.key) === hex(group.groupKey().key),
        () => `after the run the ring holds ${ringState(ring)}, the server is at epoch ${group.epoch}`,
      );
    },
  };
}

export const target: FuzzTarget = {
  name: 'group-rekey',
  summary:
    'group_rekey decoder, signature check and member key ring (src/packet/group-rekey.ts, src/keys/group/)',
  setup,
};
