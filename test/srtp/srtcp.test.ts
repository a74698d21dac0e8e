// SRTCP sender and receiver (RFC 3711 §3.4, §3.3.2, §9.2): index, E bit, MKI, replay window, exhaustion, and
// rejections that change nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asKeyId, asSsrc, type Ssrc } from '../../src/ids.js';
import { encodeSenderReportCompound } from '../../src/packet/rtcp.js';
import {
  SRTCP_MAX_INDEX,
  SrtcpReceiver,
  SrtcpSender,
  type MkiLengthBytes,
  type SrtcpUnprotectResult,
} from '../../src/srtp/index.js';
import { SSRC, testKey, toHex } from './helpers.js';

function report(packetCount: number, ssrc: Ssrc = SSRC): Uint8Array {
  return encodeSenderReportCompound(
    {
      ssrc,
      ntp: { seconds: 3_900_000_000 + packetCount, fraction: 0 },
      rtpTimestamp: packetCount * 90,
      packetCount,
      octetCount: packetCount * 1316,
    },
    'keycast@test',
  );
}

function setup(opts: { mki?: MkiLengthBytes; window?: number; encrypt?: boolean; now?: () => number } = {}) {
  const mkiLengthBytes = opts.mki ?? 4;
  const profile = 'AES_CM_128_HMAC_SHA1_80' as const;
  const sender = new SrtcpSender({
    profile,
    mkiLengthBytes,
    ...(opts.encrypt === undefined ? {} : { encrypt: opts.encrypt }),
  });
  const receiver = new SrtcpReceiver({
    profile,
    mkiLengthBytes,
    ...(opts.window === undefined ? {} : { replayWindowPackets: opts.window }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  for (const id of mkiLengthBytes === 0 ? [1] : [1, 2]) {
    sender.addKey(testKey(id));
    receiver.addKey(testKey(id));
  }
  sender.activate(asKeyId(1));
  const send = (n = 1, ssrc: Ssrc = SSRC) => {
    const r = sender.protect(report(n, ssrc));
    if (!r.ok) throw new Error(`protect: ${r.reason}`);
    return r;
  };
  return { sender, receiver, send };
}

const reason = (r: SrtcpUnprotectResult) => (r.ok ? 'ok' : r.reason);

describe('SRTCP sender and receiver', () => {
  it('protects a compound SR as header | ciphertext | E=1‖index | MKI | 80-bit tag; the receiver gets the same bytes', () => {
    const { receiver, send } = setup();
    const rtcp = report(1);
    const r = send(1);
    expect(r.index).toBe(0);
    expect(r.packet.length).toBe(rtcp.length + 4 + 4 + 10);
    expect(toHex(r.packet.subarray(0, 8))).toBe(toHex(rtcp.subarray(0, 8)));
    expect(toHex(r.packet.subarray(8, rtcp.length))).not.toBe(toHex(rtcp.subarray(8)));
    expect(toHex(r.packet.subarray(rtcp.length, rtcp.length + 8))).toBe('80000000' + '00000001'); // E‖0, MKI 1
    const got = receiver.unprotect(r.packet);
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(toHex(got.rtcp)).toBe(toHex(rtcp));
    expect(got).toMatchObject({ index: 0, encrypted: true, keyId: 1, ssrc: SSRC, cname: 'keycast@test' });
    expect(got.packets[0]).toMatchObject({ type: 'sr', packetCount: 1, octetCount: 1316 });
  });

  it('E=0 sends the compound in the clear, still authenticated', () => {
    const { receiver, sender } = setup({ encrypt: false });
    const rtcp = report(5);
    const r = sender.protect(rtcp);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(toHex(r.packet.subarray(0, rtcp.length))).toBe(toHex(rtcp));
    expect(r.packet[rtcp.length]).toBe(0x00); // E=0
    const got = receiver.unprotect(r.packet);
    expect(got.ok && got.encrypted).toBe(false);
    expect(got.ok && toHex(got.rtcp)).toBe(toHex(rtcp));
    const flipped = Uint8Array.from(r.packet);
    flipped[rtcp.length] = 0x80; // claim E=1: the tag covers the E bit
    expect(reason(receiver.unprotect(flipped))).toBe('auth_fail');
  });

  it('numbers packets 0, 1, 2 ... per SSRC, across a key change', () => {
    const { sender, receiver, send } = setup();
    expect([send().index, send().index, send(1, asSsrc(7)).index]).toEqual([0, 1, 0]);
    sender.activate(asKeyId(2));
    const r = send();
    expect(r).toMatchObject({ index: 2, keyId: 2 });
    expect(reason(receiver.unprotect(r.packet))).toBe('ok');
    expect(sender.nextIndex(SSRC)).toBe(3);
  });

  it('index edges: 2^31 - 2 and 2^31 - 1 are sent and accepted, then the sender refuses (RFC 3711 §9.2)', () => {
    const { sender, receiver, send } = setup();
    expect(reason(receiver.unprotect(send().packet))).toBe('ok'); // index 0
    sender.setNextIndex(SSRC, SRTCP_MAX_INDEX - 1);
    const a = send();
    const b = send();
    expect([a.index, b.index]).toEqual([SRTCP_MAX_INDEX - 1, SRTCP_MAX_INDEX]);
    expect(toHex(b.packet.subarray(-18, -14))).toBe('ffffffff'); // E=1 and the 31-bit index all ones
    expect(reason(receiver.unprotect(a.packet))).toBe('ok');
    expect(reason(receiver.unprotect(b.packet))).toBe('ok');
    expect(receiver.highestIndex(SSRC)).toBe(SRTCP_MAX_INDEX);
    expect(sender.protect(report(1))).toEqual({ ok: false, reason: 'index_exhausted' });
    sender.activate(asKeyId(2)); // a new key does not reset the stream's index
    expect(sender.protect(report(1))).toEqual({ ok: false, reason: 'index_exhausted' });
    expect(sender.nextIndex(SSRC)).toBe(2 ** 31);
    expect(() => sender.setNextIndex(SSRC, 2 ** 31 + 1)).toThrow(/0\.\.2\^31/);
  });

  it('rejects a duplicate as replay and one older than the window as too_old, at the window edges', () => {
    const { sender, receiver, send } = setup({ window: 64 });
    sender.setNextIndex(SSRC, 36);
    const i36 = send();
    const i37 = send();
    const i38 = send();
    sender.setNextIndex(SSRC, 100);
    const i100 = send();
    expect(reason(receiver.unprotect(i100.packet))).toBe('ok');
    expect(reason(receiver.unprotect(i100.packet))).toBe('replay');
    expect(reason(receiver.unprotect(i36.packet))).toBe('too_old'); // 100 - 36 = 64: just outside
    expect(reason(receiver.unprotect(i37.packet))).toBe('ok'); // 100 - 37 = 63: the oldest inside
    expect(reason(receiver.unprotect(i37.packet))).toBe('replay');
    expect(reason(receiver.unprotect(i38.packet))).toBe('ok');
    expect(receiver.highestIndex(SSRC)).toBe(100);
  });

  it('index 0 twice is a replay', () => {
    const { receiver, send } = setup();
    const p = send().packet;
    expect(reason(receiver.unprotect(p))).toBe('ok');
    expect(reason(receiver.unprotect(p))).toBe('replay');
  });

  it('tampering with any one byte fails, and changes nothing: the untouched packet is accepted after', () => {
    const { receiver, send } = setup();
    const p = send().packet;
    for (let i = 0; i < p.length; i++) {
      const bad = Uint8Array.from(p);
      bad[i]! ^= 0x01;
      const r = receiver.unprotect(bad);
      expect(r.ok, `byte ${i}`).toBe(false);
    }
    expect(receiver.highestIndex(SSRC)).toBeUndefined();
    expect(reason(receiver.unprotect(p))).toBe('ok');
  });

  it('rejects before the key lookup: too_short, bad_version, bad_header, unknown_key (with the MKI)', () => {
    const { receiver, send } = setup();
    const p = send().packet;
    expect(reason(receiver.unprotect(p.subarray(0, 25)))).toBe('too_short');
    expect(reason(receiver.unprotect(new Uint8Array(0)))).toBe('too_short');
    const v1 = Uint8Array.from(p);
    v1[0] = 0x40;
    expect(reason(receiver.unprotect(v1))).toBe('bad_version');
    const sdesFirst = Uint8Array.from(p);
    sdesFirst[1] = 202;
    expect(reason(receiver.unprotect(sdesFirst))).toBe('bad_header');
    const otherMki = Uint8Array.from(p);
    otherMki[p.length - 11] = 9;
    expect(receiver.unprotect(otherMki)).toEqual({ ok: false, reason: 'unknown_key', keyId: 9 });
  });

  it('an authenticated packet that is not a valid compound is malformed and does not move the window', () => {
    const { sender, receiver } = setup();
    const srOnly = report(1).subarray(0, 28); // no SDES CNAME
    const r = sender.protect(srOnly);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(receiver.unprotect(r.packet)).toEqual({ ok: false, reason: 'malformed', keyId: 1 });
    expect(receiver.highestIndex(SSRC)).toBeUndefined();
    expect(sender.protect(new Uint8Array(7))).toEqual({ ok: false, reason: 'not_rtcp' });
  });

  it('a retired key verifies for its grace period, then is gone', () => {
    let now = 0;
    const { sender, receiver, send } = setup({ now: () => now });
    const p = send().packet;
    receiver.retireKey(asKeyId(1));
    now = 4_999;
    expect(reason(receiver.unprotect(p))).toBe('ok');
    now = 5_000;
    expect(reason(receiver.unprotect(send().packet))).toBe('unknown_key');
    expect(receiver.hasKey(asKeyId(1))).toBe(false);
    sender.retire(asKeyId(1));
    expect(sender.protect(report(1))).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('with no MKI, the one key is used', () => {
    const { receiver, send } = setup({ mki: 0 });
    const r = send();
    expect(r.packet.length).toBe(report(1).length + 4 + 10);
    expect(reason(receiver.unprotect(r.packet))).toBe('ok');
  });

  it('addKey checks like the SRTP contexts', () => {
    const { receiver, sender } = setup();
    expect(() => sender.addKey(testKey(1))).toThrow('SrtcpSender.addKey: key 1 is already added');
    receiver.addKey(testKey(1)); // identical: no-op
    expect(() => receiver.addKey({ ...testKey(3), keyId: asKeyId(1) })).toThrow(
      /arrived again with different bytes/,
    );
    expect(() => receiver.addKey({ ...testKey(3), keyId: asKeyId(0x101) })).not.toThrow(); // 4-byte MKI: no clash
    expect(
      () =>
        new SrtcpReceiver({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 1, replayWindowPackets: 63 }),
    ).toThrow('SrtcpReceiver: replayWindowPackets must be an integer >= 64, got 63');
  });

  it('never throws and never accepts on random bytes or random mutations of a valid packet (fixed seed)', () => {
    const { receiver, send } = setup();
    const valid = send().packet;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc
            .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
              minLength: 1,
              maxLength: 4,
            })
            .map((flips) => {
              const b = Uint8Array.from(valid);
              for (const [at, x] of flips) b[at]! ^= x;
              return b;
            }),
        ),
        (bytes) => {
          expect(receiver.unprotect(bytes).ok).toBe(false);
        },
      ),
      { seed: 3711, numRuns: 3000 },
    );
    expect(reason(receiver.unprotect(valid))).toBe('ok');
  });
});
