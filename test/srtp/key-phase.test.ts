// Claim 29 at the SRTP level: the RTP padding bit as a one-bit key phase (docs/key-phase.md).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import type { KeyId } from '../../src/ids.js';
import { SRTP_PROFILE_NAMES, SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import type { SrtpMasterKey, SrtpProfileName } from '../../src/srtp/index.js';
import { SSRC, mustProtect, referenceProtect, rtp, testKey } from './helpers.js';

const P_BIT = 0x20;

function phaseSender(keys: readonly SrtpMasterKey[], profile: SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80') {
  const sender = new SrtpSender({ profile, mkiLengthBytes: 0, keyChange: 'phase' });
  for (const k of keys) sender.addKey(k);
  sender.activate(keys[0]!.keyId);
  return sender;
}

function phaseReceiver(
  keys: readonly SrtpMasterKey[],
  profile: SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80',
  now?: () => number,
) {
  const receiver = new SrtpReceiver({
    profile,
    mkiLengthBytes: 0,
    keyChange: 'phase',
    ...(now === undefined ? {} : { now }),
  });
  for (const k of keys) receiver.addKey(k);
  return receiver;
}

const wirePhase = (srtp: Uint8Array): number => (srtp[0]! & P_BIT) >>> 5;

/** A payload of `n` bytes whose last byte is `last`. */
function payloadEndingIn(n: number, last: number): Uint8Array {
  const p = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
  p[n - 1] = last;
  return p;
}

describe('phase mode on the wire', () => {
  it('adds no MKI bytes: the SRTP packet is the RTP packet plus the 10-byte tag', () => {
    const sender = phaseSender([testKey(1)]);
    const original = rtp({ seq: 7 });
    expect(mustProtect(sender, original).srtp.length).toBe(original.length + 10);
  });

  it('the wire P bit is the key id’s low bit, and the tag is the standard one over the original header', () => {
    for (const id of [4, 5]) {
      const key = testKey(id);
      const sender = phaseSender([key]);
      for (const paddingBytes of [0, 3]) {
        const original = rtp({ seq: 100 + paddingBytes, paddingBytes });
        const { srtp, index } = mustProtect(sender, original);
        expect(wirePhase(srtp)).toBe(id % 2);
        // Put the original P bit back: the bytes are exactly RFC 3711 SRTP of the original packet.
        const restored = Uint8Array.from(srtp);
        restored[0] = (restored[0]! & ~P_BIT) | (original[0]! & P_BIT);
        expect(restored).toEqual(referenceProtect(key, original, 12, index, 10));
      }
    }
  });

  it('refuses an MKI in phase mode, and two keys of one phase in the sender', () => {
    expect(
      () => new SrtpSender({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 1, keyChange: 'phase' }),
    ).toThrow("SrtpSender: keyChange 'phase' takes mkiLengthBytes 0, got 1");
    expect(
      () => new SrtpReceiver({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 2, keyChange: 'phase' }),
    ).toThrow("SrtpReceiver: keyChange 'phase' takes mkiLengthBytes 0, got 2");
    const sender = phaseSender([testKey(1), testKey(2)]);
    expect(() => sender.addKey(testKey(3))).toThrow(
      'SrtpSender.addKey: key 3 has key phase 1, already used by key 1',
    );
    sender.retire(asKeyId(1));
    expect(() => sender.addKey(testKey(3))).not.toThrow();
  });
});

describe('the original packet back, bit for bit', () => {
  const cases: { name: string; packet: Uint8Array }[] = [
    { name: 'payload ending in 0x00', packet: rtp({ seq: 1, payload: payloadEndingIn(188, 0x00) }) },
    { name: 'payload ending in 0xFF', packet: rtp({ seq: 2, payload: payloadEndingIn(188, 0xff) }) },
    { name: 'payload of one 0x01 byte', packet: rtp({ seq: 3, payload: Uint8Array.of(0x01) }) },
    { name: 'empty payload', packet: rtp({ seq: 4, payload: new Uint8Array(0) }) },
    {
      name: 'original with 1 padding byte',
      packet: rtp({ seq: 5, payload: payloadEndingIn(20, 0xff), paddingBytes: 1 }),
    },
    {
      name: 'original with 255 padding bytes',
      packet: rtp({ seq: 6, payload: payloadEndingIn(20, 0x00), paddingBytes: 255 }),
    },
    {
      name: 'padding only (255 bytes, empty payload)',
      packet: rtp({ seq: 7, payload: new Uint8Array(0), paddingBytes: 255 }),
    },
  ];
  for (const profile of SRTP_PROFILE_NAMES) {
    for (const keyId of [10, 11]) {
      for (const c of cases) {
        it(`${profile}, phase ${keyId % 2}: ${c.name}`, () => {
          const key = testKey(keyId, profile);
          const sender = phaseSender([key], profile);
          const receiver = phaseReceiver([key], profile);
          const input = Uint8Array.from(c.packet);
          const { srtp } = mustProtect(sender, input);
          expect(input).toEqual(c.packet); // the sender's input is untouched
          const wire = Uint8Array.from(srtp);
          const r = receiver.unprotect(srtp);
          expect(srtp).toEqual(wire); // the receiver's input is untouched
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.packet).toEqual(c.packet);
          expect(r.keyId).toBe(keyId);
          const padding = (c.packet[0]! & P_BIT) === 0 ? 0 : c.packet[c.packet.length - 1]!;
          expect(r.payloadEnd).toBe(c.packet.length - padding);
        });
      }
    }
  }
});

describe('key switches', () => {
  it('late packets of the old phase decrypt under the old key after the flip; early ones of the new phase wait as unknown_key', () => {
    const [k1, k2, k3] = [testKey(1), testKey(2), testKey(3)];
    const sender = phaseSender([k1, k2]);
    const sent: { srtp: Uint8Array; original: Uint8Array; keyId: KeyId }[] = [];
    for (let seq = 0; seq < 10; seq++) {
      if (seq === 5) sender.activate(k2.keyId);
      const original = rtp({ seq, paddingBytes: seq % 3 === 0 ? 1 + seq : 0 });
      sent.push({ ...mustProtect(sender, original), original });
    }
    expect(sent.map((s) => wirePhase(s.srtp))).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);

    // The receiver has key 1 only; new-phase packets 5 and 6 arrive early: missing key, not a forgery.
    const receiver = phaseReceiver([k1]);
    const order = [0, 1, 5, 2, 6];
    const early = order.map((i) => receiver.unprotect(sent[i]!.srtp));
    expect(early.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      'ok',
      'unknown_key',
      'ok',
      'unknown_key',
    ]);
    expect(early[2]).toEqual({ ok: false, reason: 'unknown_key', keyPhase: 0 });

    // Key 2 arrives; the held-back packets and the rest, reordered across the flip, all decrypt.
    receiver.addKey(k2);
    for (const i of [5, 6, 7, 3, 8, 4, 9]) {
      const r = receiver.unprotect(sent[i]!.srtp);
      expect(r.ok, `packet ${i}`).toBe(true);
      if (!r.ok) return;
      expect(r.packet).toEqual(sent[i]!.original);
      expect(r.keyId).toBe(sent[i]!.keyId);
    }

    // Key 3 takes phase 1 from key 1: now a straggler of key 1 fails to verify (it is tried under key 3).
    const straggler = mustProtect(phaseSender([k1]), rtp({ seq: 4 })).srtp;
    receiver.addKey(k3);
    expect(receiver.hasKey(k1.keyId)).toBe(false);
    expect(receiver.unprotect(straggler)).toEqual({ ok: false, reason: 'auth_fail', keyId: 3 });
  });

  it('a key older than the one holding its phase is dropped, not installed', () => {
    const receiver = phaseReceiver([testKey(3)]);
    receiver.addKey(testKey(1));
    expect(receiver.hasKey(asKeyId(1))).toBe(false);
    expect(receiver.hasKey(asKeyId(3))).toBe(true);
  });

  it('a retired key still decrypts for the grace period, then its phase is unknown', () => {
    let nowMs = 0;
    const k1 = testKey(1);
    const receiver = phaseReceiver([k1], 'AES_CM_128_HMAC_SHA1_80', () => nowMs);
    const sender = phaseSender([k1]);
    receiver.retireKey(k1.keyId);
    nowMs = receiver.retireGraceMs - 1;
    expect(receiver.unprotect(mustProtect(sender, rtp({ seq: 1 })).srtp).ok).toBe(true);
    nowMs = receiver.retireGraceMs;
    expect(receiver.unprotect(mustProtect(sender, rtp({ seq: 2 })).srtp)).toEqual({
      ok: false,
      reason: 'unknown_key',
      keyId: 1,
    });
  });

  it('a flipped wire P bit is an auth failure (or a missing key) and changes no state', () => {
    const [k1, k2] = [testKey(1), testKey(2)];
    const sender = phaseSender([k1, k2]);
    const receiver = phaseReceiver([k1, k2]);
    expect(receiver.unprotect(mustProtect(sender, rtp({ seq: 1 })).srtp).ok).toBe(true);
    const before = receiver.streamState(SSRC);
    const { srtp } = mustProtect(sender, rtp({ seq: 2, paddingBytes: 4 }));
    const flipped = Uint8Array.from(srtp);
    flipped[0]! ^= P_BIT;
    expect(receiver.unprotect(flipped)).toEqual({ ok: false, reason: 'auth_fail', keyId: 2 });
    expect(receiver.streamState(SSRC)).toEqual(before);
    expect(phaseReceiver([k1]).unprotect(flipped)).toEqual({ ok: false, reason: 'unknown_key', keyPhase: 0 });
    expect(receiver.unprotect(srtp).ok).toBe(true);
  });
});

describe('one snapshot per packet', () => {
  it('every packet decrypts under exactly the key its phase names, whatever the switches between packets', () => {
    const keys = [1, 2, 3, 4, 5, 6].map((id) => testKey(id));
    const sender = phaseSender([keys[0]!, keys[1]!]);
    // Receivers that each hold one key only: a packet decrypts under that key or is refused.
    const solo = keys.map((k) => phaseReceiver([k]));
    let active = 0;
    for (let seq = 0; seq < 60; seq++) {
      // Switch before every 7th packet: activate the next key, retire the old, add the one after.
      if (seq % 7 === 6 && active + 1 < keys.length) {
        sender.activate(keys[active + 1]!.keyId);
        sender.retire(keys[active]!.keyId);
        active++;
        if (active + 1 < keys.length) sender.addKey(keys[active + 1]!);
      }
      const { srtp, keyId } = mustProtect(sender, rtp({ seq, paddingBytes: seq % 5 }));
      expect(keyId).toBe(keys[active]!.keyId);
      expect(wirePhase(srtp)).toBe(keyId % 2);
      solo.forEach((receiver, i) => {
        const r = receiver.unprotect(srtp);
        expect(r.ok, `packet ${seq} under key ${i + 1}`).toBe(i === active);
      });
    }
    expect(active).toBe(5);
  });
});

describe('property: random payloads, padding and switch points', () => {
  it('the receiver gives back every original packet, in any order within the window', () => {
    const packetArb = fc.record({
      payload: fc.uint8Array({ maxLength: 64 }),
      paddingBytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
      switchBefore: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(packetArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(...SRTP_PROFILE_NAMES),
        (specs, shuffleSeed, profile) => {
          const keys = Array.from({ length: specs.length + 1 }, (_, i) => testKey(i + 1, profile));
          const sender = phaseSender([keys[0]!], profile);
          let active = 0;
          const sent = specs.map((s, seq) => {
            if (s.switchBefore) {
              sender.addKey(keys[active + 1]!);
              sender.activate(keys[active + 1]!.keyId);
              sender.retire(keys[active]!.keyId);
              active++;
            }
            const original = rtp({ seq, payload: s.payload, paddingBytes: s.paddingBytes });
            return { original, ...mustProtect(sender, original) };
          });
          // Reorder within neighbours (a key change at most one packet apart), as a network would.
          const order = sent.map((_, i) => i);
          for (let i = shuffleSeed % 2; i + 1 < order.length; i += 2 + (shuffleSeed % 3)) {
            [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
          }
          // The receiver is given every key used, in order, before the packets: no key is missing.
          const receiver = phaseReceiver([], profile);
          for (const i of order) {
            const s = sent[i]!;
            receiver.addKey(keys[s.keyId - 1]!);
            const r = receiver.unprotect(s.srtp);
            if (!r.ok) return false;
            expect(r.packet).toEqual(s.original);
            expect(r.keyId).toBe(s.keyId);
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
