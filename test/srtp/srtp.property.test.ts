import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRtpHeader } from '../../src/packet/rtp-header.js';
import { SRTP_PROFILE_NAMES, SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import type { MkiLengthBytes, SrtpRejectReason } from '../../src/srtp/index.js';
import { rtpHeaderArb } from '../packet/arbitraries.js';
import { SSRC, mustProtect, rtp, testKey } from './helpers.js';

const REASONS: readonly SrtpRejectReason[] = [
  'too_short',
  'bad_version',
  'bad_header',
  'unknown_key',
  'auth_fail',
  'replay',
  'bad_padding',
];

const profileArb = fc.constantFrom(...SRTP_PROFILE_NAMES);
const mkiArb = fc.constantFrom<MkiLengthBytes>(0, 1, 2, 3, 4);
const keyIdArb = fc.integer({ min: 0, max: 0xffffffff });

/** A random RTP packet: any header, any payload, and with P=1 a valid padding count. */
const rtpPacketArb = fc
  .tuple(rtpHeaderArb, fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 255 }))
  .map(([header, payload, paddingBytes]) => {
    const head = encodeRtpHeader({ ...header, padding: paddingBytes > 0 });
    const out = new Uint8Array(head.length + payload.length + paddingBytes);
    out.set(head);
    out.set(payload, head.length);
    if (paddingBytes > 0) out[out.length - 1] = paddingBytes;
    return out;
  });

function contexts(
  profile: (typeof SRTP_PROFILE_NAMES)[number],
  mkiLengthBytes: MkiLengthBytes,
  keyId: number,
) {
  const sender = new SrtpSender({ profile, mkiLengthBytes });
  const receiver = new SrtpReceiver({ profile, mkiLengthBytes });
  sender.addKey(testKey(keyId, profile));
  receiver.addKey(testKey(keyId, profile));
  sender.activate(testKey(keyId, profile).keyId);
  return { sender, receiver };
}

describe('SRTP properties', () => {
  it('protect then unprotect gives back the RTP packet, for any packet, profile and MKI length', () => {
    fc.assert(
      fc.property(rtpPacketArb, profileArb, mkiArb, keyIdArb, (packet, profile, mki, keyId) => {
        const { sender, receiver } = contexts(profile, mki, keyId);
        const input = Uint8Array.from(packet);
        const p = mustProtect(sender, packet);
        expect(packet).toEqual(input);
        const srtp = Uint8Array.from(p.srtp);
        const r = receiver.unprotect(p.srtp);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.packet).toEqual(packet);
        expect(r.index).toBe(p.index);
        expect(r.keyId).toBe(keyId);
        expect(p.srtp).toEqual(srtp);
      }),
      { numRuns: 300 },
    );
  });

  it('any burst of consecutive packets, in any order within the window, decrypts at the sender’s indices', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc
          .integer({ min: 1, max: 100 })
          .chain((n) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n })),
        (start, order) => {
          const { sender, receiver } = contexts('AES_CM_128_HMAC_SHA1_80', 0, 1);
          const sent = order.map((_, i) => mustProtect(sender, rtp({ seq: (start + i) & 0xffff })));
          const first = receiver.unprotect(sent[0]!.srtp); // a receiver's first packet sets its ROC 0 reference
          expect(first.ok).toBe(true);
          for (const i of order.filter((i) => i !== 0)) {
            const r = receiver.unprotect(sent[i]!.srtp);
            expect(r.ok && r.index).toBe(sent[i]!.index);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('unprotect is total on random bytes: never throws, never accepts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        profileArb,
        mkiArb,
        (bytes, rtpLike, profile, mki) => {
          if (rtpLike && bytes.length > 0) bytes[0] = (bytes[0]! & 0x3f) | 0x80;
          const { receiver } = contexts(profile, mki, 0);
          const r = receiver.unprotect(bytes);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(REASONS).toContain(r.reason);
          expect(receiver.streamState(SSRC)).toBeUndefined();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('flipping any one bit of a protected packet makes it fail, and moves no state', () => {
    fc.assert(
      fc.property(rtpPacketArb, mkiArb, fc.nat(), (packet, mki, bitSeed) => {
        const { sender, receiver } = contexts('AES_CM_128_HMAC_SHA1_32', mki, 0x01020304);
        receiver.setStreamState(SSRC, { roc: 0, lastSeq: 0 });
        const srtp = mustProtect(sender, packet).srtp;
        const bit = bitSeed % (srtp.length * 8);
        srtp[bit >> 3]! ^= 1 << (bit & 7);
        const before = Uint8Array.from(srtp);
        const ssrc = new DataView(packet.buffer).getUint32(8);
        const stateBefore = receiver.streamState(ssrc as typeof SSRC);
        const r = receiver.unprotect(srtp);
        expect(r.ok).toBe(false);
        expect(srtp).toEqual(before);
        expect(receiver.streamState(ssrc as typeof SSRC)).toEqual(stateBefore);
      }),
      { numRuns: 500 },
    );
  });
});
