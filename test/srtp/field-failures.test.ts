// The field-failure cases of the SRTP issue, each with the exact input it names.

import { describe, expect, it } from 'vitest';
import { asSsrc } from '../../src/ids.js';
import { SRTP_PROFILES } from '../../src/crypto/srtp-profiles.js';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { SrtpReceiver, SrtpSender, estimateSrtpIndex } from '../../src/srtp/index.js';
import { SSRC, hex, mustProtect, pair, referenceProtect, rtp, testKey, toHex } from './helpers.js';

/** Protects with the profile's transform directly: a sender that skips SrtpSender's padding check. */
function rogueProtect(packet: Uint8Array, index: number): Uint8Array {
  const t = SRTP_PROFILES.AES_CM_128_HMAC_SHA1_80.createTransform(
    testKey(1).masterKey,
    testKey(1).masterSalt,
  );
  const out = new Uint8Array(packet.length + 10);
  t.protect(packet, 12, SSRC, index, out.subarray(0, packet.length), out.subarray(packet.length));
  return out;
}

describe('Reordering across the wrap', () => {
  it('delivered as 65534, 0, 2, 1, 65535, all five decrypt at 0xFFFE, 0x10000, 0x10002, 0x10001, 0xFFFF; ROC ends at 1', () => {
    const { sender, receiver } = pair();
    const sent = new Map<number, Uint8Array>();
    const sentIndex: number[] = [];
    for (const seq of [65534, 65535, 0, 1, 2]) {
      const p = mustProtect(sender, rtp({ seq }));
      sent.set(seq, p.srtp);
      sentIndex.push(p.index);
    }
    expect(sentIndex).toEqual([0xfffe, 0xffff, 0x10000, 0x10001, 0x10002]);

    const got: number[] = [];
    for (const seq of [65534, 0, 2, 1, 65535]) {
      const r = receiver.unprotect(sent.get(seq)!);
      expect(r.ok, `seq ${seq}`).toBe(true);
      if (!r.ok) return;
      expect(r.packet).toEqual(rtp({ seq }));
      got.push(r.index);
    }
    expect(got).toEqual([0xfffe, 0x10000, 0x10002, 0x10001, 0xffff]);
    expect(receiver.streamState(SSRC)?.roc).toBe(1);
    expect(receiver.streamState(SSRC)).toEqual({ roc: 1, lastSeq: 2 });
  });

  it('a sender asked to protect 65533, 65535, 0, 1, 65534, 2 uses 0xFFFD, 0xFFFF, 0x10000, 0x10001, 0xFFFE, 0x10002', () => {
    const { sender, receiver } = pair();
    const seqs = [65533, 65535, 0, 1, 65534, 2];
    const protectedPackets = seqs.map((seq) => mustProtect(sender, rtp({ seq })));
    expect(protectedPackets.map((p) => p.index)).toEqual([0xfffd, 0xffff, 0x10000, 0x10001, 0xfffe, 0x10002]);
    // And a receiver given them in the same order agrees on every index.
    expect(protectedPackets.map((p) => receiver.unprotect(p.srtp)).map((r) => r.ok && r.index)).toEqual([
      0xfffd, 0xffff, 0x10000, 0x10001, 0xfffe, 0x10002,
    ]);
  });
});

describe('48-bit index', () => {
  it('with ROC 0x00010000 and sequence 5 the index is 4294967301, and the packet round-trips', () => {
    const key = testKey(1);
    const { sender, receiver } = pair({}, [key]);
    sender.setStreamState(SSRC, { roc: 0x00010000, lastSeq: 5 });
    receiver.setStreamState(SSRC, { roc: 0x00010000, lastSeq: 5 });
    const packet = rtp({ seq: 5 });
    const p = mustProtect(sender, packet);
    expect(p.index).toBe(4294967301);
    // The bytes match an independent BigInt implementation: the index's high bits reach the IV and the ROC.
    expect(toHex(p.srtp)).toBe(toHex(referenceProtect(key, packet, 12, 4294967301, 10)));
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.index).toBe(4294967301);
    expect(r.ok && r.packet).toEqual(packet);
    expect(receiver.streamState(SSRC)).toEqual({ roc: 0x00010000, lastSeq: 5 });
  });

  it('a sender at index 2^48 - 1 refuses to protect another packet under the same key', () => {
    const { sender, receiver } = pair();
    sender.setStreamState(SSRC, { roc: 0xffffffff, lastSeq: 0xfffe });
    receiver.setStreamState(SSRC, { roc: 0xffffffff, lastSeq: 0xfffe });
    const last = mustProtect(sender, rtp({ seq: 0xffff }));
    expect(last.index).toBe(2 ** 48 - 1);
    const r = receiver.unprotect(last.srtp);
    expect(r.ok && r.index).toBe(2 ** 48 - 1);

    expect(sender.protect(rtp({ seq: 0 }))).toEqual({ ok: false, reason: 'key_exhausted' });
    expect(sender.protect(rtp({ seq: 1 }))).toEqual({ ok: false, reason: 'key_exhausted' });
    expect(sender.streamState(SSRC)).toEqual({ roc: 0xffffffff, lastSeq: 0xffff });
  });
});

describe('A failed decrypt changes nothing', () => {
  it('packet 1 first fails with its bytes unchanged; then 65535, 0 at 0x10000, and the saved copy of 1 at 0x10001 decrypt', () => {
    // Set-up: the receiver has no state for the SSRC. RFC 3711 Appendix A then takes ROC 0 for the
    // first packet it sees, so packet 1, sent at index 0x10001 (ROC 1), is checked as index 1 (ROC 0)
    // and its tag fails. Nothing may be learned from that failure: no state, input untouched.
    // (Telling the receiver "ROC 0, last seq 65535" with setStreamState would not make packet 1 fail:
    // from s_l = 65535 Appendix A estimates ROC 1 for seq 1, which is right.)
    const { sender, receiver } = pair();
    const [p65535, p0, p1] = [65535, 0, 1].map((seq) => mustProtect(sender, rtp({ seq })));
    expect([p65535!.index, p0!.index, p1!.index]).toEqual([0xffff, 0x10000, 0x10001]);
    const saved = Uint8Array.from(p1!.srtp);

    const first = receiver.unprotect(p1!.srtp);
    expect(first).toEqual({ ok: false, reason: 'auth_fail', keyId: 1 });
    expect(p1!.srtp).toEqual(saved);
    expect(receiver.streamState(SSRC)).toBeUndefined();

    const r65535 = receiver.unprotect(p65535!.srtp);
    expect(r65535.ok && r65535.index).toBe(0xffff);
    const r0 = receiver.unprotect(p0!.srtp);
    expect(r0.ok && r0.index).toBe(0x10000);
    const r1 = receiver.unprotect(saved);
    expect(r1.ok && r1.index).toBe(0x10001);
    expect(r1.ok && r1.packet).toEqual(rtp({ seq: 1 }));
  });
});

describe('Unauthenticated packets move no state', () => {
  it('bad tags at seq 0, 0x4000, 0x8000, 0xFFFF fail; then genuine 0, 65531, 5 decrypt at 0x10000, 0xFFFB, 0x10005', () => {
    const { sender, receiver } = pair();
    sender.setStreamState(SSRC, { roc: 0, lastSeq: 65530 });
    receiver.setStreamState(SSRC, { roc: 0, lastSeq: 65530 });

    for (const seq of [0, 0x4000, 0x8000, 0xffff]) {
      const forged = new Uint8Array(rtp({ seq }).length + 10);
      forged.set(rtp({ seq }));
      forged.fill(0x5a, forged.length - 10);
      expect(receiver.unprotect(forged), `forged seq ${seq}`).toEqual({
        ok: false,
        reason: 'auth_fail',
        keyId: 1,
      });
      // A genuine packet at the index the receiver will estimate, with one tag bit flipped, fails the same way.
      const index = estimateSrtpIndex(65530, seq);
      const genuine = new SrtpSender({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 0 });
      genuine.addKey(testKey(1));
      genuine.setStreamState(SSRC, { roc: Math.floor(index / 0x10000), lastSeq: seq });
      const flipped = mustProtect(genuine, rtp({ seq })).srtp;
      flipped[flipped.length - 1]! ^= 1;
      expect(receiver.unprotect(flipped), `flipped seq ${seq}`).toEqual({
        ok: false,
        reason: 'auth_fail',
        keyId: 1,
      });
      expect(receiver.streamState(SSRC)).toEqual({ roc: 0, lastSeq: 65530 });
    }

    const indices = [0, 65531, 5].map((seq) => {
      const r = receiver.unprotect(mustProtect(sender, rtp({ seq })).srtp);
      expect(r.ok, `seq ${seq}`).toBe(true);
      return r.ok ? r.index : -1;
    });
    expect(indices).toEqual([0x10000, 0xfffb, 0x10005]);
  });
});

describe('Short packets', () => {
  it('with a 4-byte MKI and a 10-byte tag, a 13-byte datagram is too short, before any MKI lookup', () => {
    // The receiver holds no key: had the MKI been looked up, the answer would be unknown_key.
    const receiver = new SrtpReceiver({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 4 });
    const datagram = Uint8Array.from([...hex('800f1234decafbadcafebabe'), 0x01]);
    expect(datagram.length).toBe(13);
    expect(receiver.unprotect(datagram)).toEqual({ ok: false, reason: 'too_short' });
    // Every length below header + MKI + tag (26) is too short; at 26 the MKI is read.
    for (let n = 0; n < 26; n++) {
      const d = new Uint8Array(n).fill(0x80);
      expect(receiver.unprotect(d), `${n} bytes`).toEqual({ ok: false, reason: 'too_short' });
    }
    const d26 = new Uint8Array(26);
    d26.set(hex('800f1234decafbadcafebabe 00000007'));
    expect(receiver.unprotect(d26)).toEqual({ ok: false, reason: 'unknown_key', keyId: 7 });
  });
});

describe('Padding', () => {
  const padded = rtp({ seq: 1, payload: hex('00010304'), paddingBytes: 5 });

  it('P=1, payload 00 01 03 04 and 5 bytes of padding protects to 31 bytes with the padding encrypted, and back to the same 21', () => {
    const key = testKey(1);
    const { sender, receiver } = pair({}, [key]);
    expect(padded.length).toBe(21);
    expect(toHex(padded.subarray(12))).toBe('000103040000000005');
    const p = mustProtect(sender, padded);
    expect(p.srtp.length).toBe(31);
    // Header in the clear; payload and padding (bytes 12..20) are ciphertext, tag after.
    expect(toHex(p.srtp)).toBe(toHex(referenceProtect(key, padded, 12, p.index, 10)));
    expect(toHex(p.srtp.subarray(0, 12))).toBe(toHex(padded.subarray(0, 12)));
    expect(toHex(p.srtp.subarray(16, 21))).not.toBe('0000000005');
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.packet).toEqual(padded);
    expect(r.ok && r.packet.length).toBe(21);
  });

  it.each([
    ['a padding count of 0', 'a00f0001decafbadcafebabe 0001030400'],
    ['a count larger than the bytes after the header', 'a00f0001decafbadcafebabe 00010309'],
    ['P=1 with nothing after the header', 'a00f0001decafbadcafebabe'],
  ])('after decryption, %s is rejected as bad_padding, and moves no state', (_, packetHex) => {
    const { sender, receiver } = pair();
    const packet = hex(packetHex);
    expect(sender.protect(packet)).toEqual({ ok: false, reason: 'bad_padding' });
    receiver.setStreamState(SSRC, { roc: 0, lastSeq: 0 });
    expect(receiver.unprotect(rogueProtect(packet, 1))).toEqual({
      ok: false,
      reason: 'bad_padding',
      keyId: 1,
    });
    expect(receiver.streamState(SSRC)).toEqual({ roc: 0, lastSeq: 0 });
    // The same bytes with a valid count decrypt, so the rejection was the padding's.
    const fixed = Uint8Array.from([...packet, 1]);
    expect(receiver.unprotect(rogueProtect(fixed, 1)).ok).toBe(true);
  });
});

describe('Offsets', () => {
  const extension = { profile: 0xbede, data: hex('10ff0000') };

  it('a header with CC=2 and a 0xBEDE extension of length 1 is 28 bytes, and only the bytes after it are encrypted', () => {
    const key = testKey(1);
    const { sender, receiver } = pair({}, [key]);
    const payload = hex('000102030405060708090a0b0c0d0e0f');
    const packet = rtp({ seq: 9, csrcs: [asSsrc(0x11111111), asSsrc(0x22222222)], extension, payload });
    const h = decodeRtpHeader(packet);
    expect(h.ok && h.headerLengthBytes).toBe(28);
    const p = mustProtect(sender, packet);
    expect(toHex(p.srtp.subarray(0, 28))).toBe(toHex(packet.subarray(0, 28)));
    expect(toHex(p.srtp)).toBe(toHex(referenceProtect(key, packet, 28, 9, 10)));
    expect(toHex(p.srtp.subarray(28, 44))).not.toBe(toHex(payload));
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.packet).toEqual(packet);
  });

  it('a packet with an extension and an empty payload round-trips', () => {
    const { sender, receiver } = pair();
    const packet = rtp({ seq: 3, extension, payload: new Uint8Array(0) });
    expect(packet.length).toBe(20);
    const p = mustProtect(sender, packet);
    expect(p.srtp.length).toBe(30);
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.packet).toEqual(packet);
  });

  it.each([0, 1, 11])('a %i-byte datagram is rejected as too_short', (n) => {
    const { sender, receiver } = pair();
    expect(sender.protect(new Uint8Array(n).fill(0x80))).toEqual({ ok: false, reason: 'too_short' });
    expect(receiver.unprotect(new Uint8Array(n).fill(0x80))).toEqual({ ok: false, reason: 'too_short' });
  });

  it('a CC=15 header in 20 bytes is rejected as bad_header', () => {
    const { sender, receiver } = pair();
    const packet = new Uint8Array(20);
    packet[0] = 0x8f;
    expect(sender.protect(packet)).toEqual({ ok: false, reason: 'bad_header' });
    // As SRTP: 20 bytes of header then a 10-byte tag; the CSRC list may not reach into the tag.
    expect(receiver.unprotect(Uint8Array.from([...packet, ...new Uint8Array(10)]))).toEqual({
      ok: false,
      reason: 'bad_header',
    });
  });

  it('an extension length pointing past the end is rejected as bad_header', () => {
    const { sender, receiver } = pair();
    const packet = hex('900f1234decafbadcafebabe bede0003 01020304');
    expect(sender.protect(packet)).toEqual({ ok: false, reason: 'bad_header' });
    // With a 10-byte tag after it, 12 extension bytes would fit in the datagram: they may not reach into the tag.
    expect(receiver.unprotect(Uint8Array.from([...packet, ...new Uint8Array(10)]))).toEqual({
      ok: false,
      reason: 'bad_header',
    });
  });

  it('a version other than 2 is rejected as bad_version', () => {
    const { sender, receiver } = pair();
    const packet = hex('400f1234decafbadcafebabe 01020304');
    expect(sender.protect(packet)).toEqual({ ok: false, reason: 'bad_version' });
    expect(receiver.unprotect(Uint8Array.from([...packet, ...new Uint8Array(10)]))).toEqual({
      ok: false,
      reason: 'bad_version',
    });
  });
});
