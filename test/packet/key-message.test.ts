import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asKeyId, asSsrc } from '../../src/ids.js';
import {
  decodeKeyMessage,
  encodeKeyMessage,
  encodeKeyMessageSignedPart,
  keyMessageSize,
  WRAP_KIND_CODES,
  type UnsignedKeyMessage,
  type WrapKind,
} from '../../src/packet/key-message.js';
import { KEY_MESSAGE_PROFILE_NAMES } from '../../src/packet/profile-code.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const ms = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const entryArb = fc.record({
  wrapKind: fc.constantFrom(...(Object.keys(WRAP_KIND_CODES) as WrapKind[])),
  wrapKeyId: u32,
  epoch: u16,
  wrapped: fc.uint8Array({ minLength: 0, maxLength: 80 }),
});

const contentKeyArb: fc.Arbitrary<UnsignedKeyMessage> = fc.record({
  type: fc.constant('content_key' as const),
  programmeId: u32,
  messageSeq: u32,
  issuedAtMs: ms,
  keyId: u32.map(asKeyId),
  ssrc: u32.map(asSsrc),
  roc: u32,
  seq: u16,
  profile: fc.constantFrom(...KEY_MESSAGE_PROFILE_NAMES),
  mkiLengthBytes: fc.integer({ min: 0, max: 4 }),
  activatesAtMs: ms,
  expiresAtMs: ms,
  entries: fc.array(entryArb, { maxLength: 6 }),
});

const segmentKeyArb: fc.Arbitrary<UnsignedKeyMessage> = fc.record({
  type: fc.constant('segment_key' as const),
  programmeId: u32,
  messageSeq: u32,
  issuedAtMs: ms,
  segment: u32,
  epoch: u16,
  activatesAtMs: ms,
  expiresAtMs: ms,
  entries: fc.array(entryArb, { maxLength: 6 }),
});

const messageArb = fc.oneof(contentKeyArb, segmentKeyArb);

const sample: UnsignedKeyMessage = {
  type: 'content_key',
  programmeId: 7,
  messageSeq: 42,
  issuedAtMs: 1_767_225_600_000,
  keyId: asKeyId(3),
  ssrc: asSsrc(0xdeadbeef),
  roc: 1,
  seq: 65535,
  profile: 'AES_CM_128_HMAC_SHA1_80',
  mkiLengthBytes: 4,
  activatesAtMs: 1_767_225_610_000,
  expiresAtMs: 1_767_225_622_000,
  entries: [
    { wrapKind: 'psk', wrapKeyId: 0, epoch: 0, wrapped: new Uint8Array(58).fill(0xaa) },
    { wrapKind: 'psk', wrapKeyId: 1, epoch: 2, wrapped: new Uint8Array(58).fill(0xbb) },
  ],
};
const sig = new Uint8Array(64).fill(0x55);

describe('key message codec', () => {
  it('lays out the header and body as the diagram says', () => {
    const b = encodeKeyMessage(sample, sig);
    expect(b.length).toBe(keyMessageSize(sample));
    expect(b.length).toBe(20 + 34 + 2 * (9 + 58) + 64);
    const hex = Buffer.from(b).toString('hex');
    const u64 = (n: number) => n.toString(16).padStart(16, '0');
    expect(hex.slice(0, 40)).toBe('01' + '01' + '0000' + '00000007' + '0000002a' + u64(sample.issuedAtMs));
    expect(hex.slice(40, 108)).toBe(
      '00000003' +
        'deadbeef' +
        '00000001' +
        'ffff' +
        '01' +
        '04' +
        u64(sample.activatesAtMs) +
        u64(sample.expiresAtMs) +
        '0002',
    );
    expect(b[20 + 14]).toBe(0x01); // profile code
    expect(b[20 + 15]).toBe(4);
    expect(b[20 + 32]).toBe(0);
    expect(b[20 + 33]).toBe(2); // entry count
    expect(Buffer.from(b.subarray(54, 63)).toString('hex')).toBe('01' + '00000000' + '0000' + '003a');
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ minLength: 64, maxLength: 64 }), (m, s) => {
        const bytes = encodeKeyMessage(m, s);
        const d = decodeKeyMessage(bytes);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        const { signature, signedBytes, ...fields } = d.msg;
        expect(fields).toEqual(m);
        expect(signature).toEqual(s);
        expect(signedBytes).toEqual(encodeKeyMessageSignedPart(m));
      }),
    );
  });

  it('never throws on random bytes (totality), and reports need/have on truncation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const d = decodeKeyMessage(b);
        if (!d.ok && d.reason === 'too_short') expect(d.need).toBeGreaterThan(d.have!);
      }),
      { numRuns: 2000 },
    );
    // Random bytes behind a valid header prefix reach the deeper fields.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 3 }), (tail, type) => {
        const b = new Uint8Array(2 + tail.length);
        b[0] = 1;
        b[1] = type;
        b.set(tail, 2);
        decodeKeyMessage(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('lays out a segment_key message as documented (type 2, service entries)', () => {
    const m: UnsignedKeyMessage = {
      type: 'segment_key',
      programmeId: 7,
      messageSeq: 43,
      issuedAtMs: 1,
      segment: 0x01020304,
      epoch: 5,
      activatesAtMs: 0x0a0b,
      expiresAtMs: 0x0c0d,
      entries: [{ wrapKind: 'service', wrapKeyId: 2, epoch: 683, wrapped: new Uint8Array(60).fill(0xcc) }],
    };
    const b = encodeKeyMessage(m, sig);
    expect(b.length).toBe(20 + 24 + 9 + 60 + 64);
    expect(b[1]).toBe(2);
    expect(Buffer.from(b.subarray(20, 44)).toString('hex')).toBe(
      '01020304' + '0005' + '0000000000000a0b' + '0000000000000c0d' + '0001',
    );
    expect(Buffer.from(b.subarray(44, 53)).toString('hex')).toBe('03' + '00000002' + '02ab' + '003c');
    const d = decodeKeyMessage(b);
    expect(d.ok && d.msg.type === 'segment_key' && d.msg.segment).toBe(0x01020304);
    for (let n = 1; n < b.length; n++) {
      expect(decodeKeyMessage(b.subarray(0, n))).toMatchObject({ ok: false, reason: 'too_short', have: n });
    }
    expect(() => encodeKeyMessage({ ...m, epoch: 0x10000 }, sig)).toThrow(/epoch/);
  });

  it('every strict prefix of a valid message is too_short', () => {
    const b = encodeKeyMessage(sample, sig);
    for (let n = 1; n < b.length; n++) {
      const d = decodeKeyMessage(b.subarray(0, n));
      expect(d).toMatchObject({ ok: false, reason: 'too_short', have: n });
    }
    expect(decodeKeyMessage(new Uint8Array(0))).toMatchObject({ ok: false, reason: 'too_short' });
  });

  it('reads through a DataView at the right offset inside a pooled buffer', () => {
    const b = encodeKeyMessage(sample, sig);
    const pool = new Uint8Array(b.length + 17);
    pool.set(b, 17);
    const d = decodeKeyMessage(pool.subarray(17));
    expect(d.ok && d.msg.type === 'content_key' && d.msg.keyId).toBe(3);
  });

  it('carries each profile as its code at byte 34: IANA DTLS-SRTP values, 0x80 for AES_256_CM_HMAC_SHA1_80', () => {
    const codes = {
      AES_CM_128_HMAC_SHA1_80: 0x01,
      AES_CM_128_HMAC_SHA1_32: 0x02,
      AEAD_AES_128_GCM: 0x07,
      AEAD_AES_256_GCM: 0x08,
      AES_256_CM_HMAC_SHA1_80: 0x80,
    } as const;
    expect([...KEY_MESSAGE_PROFILE_NAMES].sort()).toEqual(Object.keys(codes).sort());
    for (const [profile, code] of Object.entries(codes)) {
      const b = encodeKeyMessage({ ...sample, profile } as UnsignedKeyMessage, sig);
      expect(b[34]).toBe(code);
      const d = decodeKeyMessage(b);
      expect(d.ok && d.msg.type === 'content_key' && d.msg.profile).toBe(profile);
    }
  });

  it('refuses a bad version, unknown and reserved types, bad codes and trailing bytes', () => {
    const b = encodeKeyMessage(sample, sig);
    const with_ = (i: number, v: number) => {
      const c = b.slice();
      c[i] = v;
      return decodeKeyMessage(c);
    };
    expect(with_(0, 2)).toMatchObject({ ok: false, reason: 'bad_version' });
    expect(with_(1, 3)).toMatchObject({ ok: false, reason: 'unsupported_type' });
    expect(with_(1, 9)).toMatchObject({ ok: false, reason: 'unknown_type' });
    expect(with_(34, 0x55)).toMatchObject({ ok: false, reason: 'bad_profile' });
    expect(with_(35, 5)).toMatchObject({ ok: false, reason: 'bad_field' });
    expect(with_(54, 9)).toMatchObject({ ok: false, reason: 'bad_wrap_kind' });
    expect(with_(12, 0xff)).toMatchObject({ ok: false, reason: 'bad_field' }); // issuedAtMs beyond 2^53
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(decodeKeyMessage(longer)).toMatchObject({ ok: false, reason: 'trailing_bytes' });
  });

  it('throws on out-of-range fields when encoding (programming error)', () => {
    expect(() => encodeKeyMessage({ ...sample, seq: 65536 }, sig)).toThrow(/seq/);
    expect(() => encodeKeyMessage({ ...sample, mkiLengthBytes: 5 }, sig)).toThrow(/mkiLengthBytes/);
    expect(() => encodeKeyMessage(sample, new Uint8Array(63))).toThrow(/signature/);
  });
});
