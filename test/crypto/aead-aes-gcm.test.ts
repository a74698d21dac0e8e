// AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714): the §16/§17 vectors byte for byte, the IVs, the KDF, and clean
// rejection of every modified packet.
import { describe, expect, it } from 'vitest';
import {
  AeadAesGcmSrtcpTransform,
  AeadAesGcmTransform,
  deriveSrtcpGcmKeys,
  deriveSrtpGcmKeys,
} from '../../src/crypto/aead-aes-gcm.js';
import { NODE_GCM, writeSrtcpGcmIv, writeSrtpGcmIv, type GcmPrimitive } from '../../src/crypto/aes-gcm.js';
import { SRTP_PROFILES } from '../../src/crypto/srtp-profiles.js';
import {
  SUITE_KNOWN_ANSWERS,
  checkSuiteKnownAnswers,
  type GcmSrtcpVector,
  type GcmSrtpVector,
} from '../../src/crypto/suite-self-test.js';
import { hex, toHex } from '../srtp/helpers.js';
import { RFC7714 } from './vectors.js';

const NONE = new Uint8Array(0);
const TAG = 16;
const WORD = 4;

function srtpTransform(v: GcmSrtpVector | GcmSrtcpVector, gcm?: GcmPrimitive): AeadAesGcmTransform {
  return new AeadAesGcmTransform({ key: hex(v.sessionKey), salt: hex(v.sessionSalt) }, gcm);
}

function srtcpTransform(v: GcmSrtcpVector): AeadAesGcmSrtcpTransform {
  return new AeadAesGcmSrtcpTransform({ key: hex(v.sessionKey), salt: hex(v.sessionSalt) });
}

describe('RFC 7714 vectors', () => {
  it('the data file and the start-up self-test hold the same vectors', () => {
    expect(SUITE_KNOWN_ANSWERS.gcmSrtp).toEqual(RFC7714.srtp);
    expect(SUITE_KNOWN_ANSWERS.gcmSrtcp).toEqual(RFC7714.srtcp);
    expect(RFC7714.srtp.map((v) => v.profile)).toEqual(['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM']);
    expect(RFC7714.srtcp.map((v) => [v.profile, v.encrypt])).toEqual([
      ['AEAD_AES_128_GCM', true],
      ['AEAD_AES_128_GCM', false],
      ['AEAD_AES_256_GCM', true],
      ['AEAD_AES_256_GCM', false],
    ]);
  });

  it.each(RFC7714.srtp.map((v) => [v.source, v] as const))('%s: IV, protect, unprotect', (_, v) => {
    const iv = new Uint8Array(12);
    writeSrtpGcmIv(hex(v.sessionSalt), v.ssrc, v.index, iv);
    expect(toHex(iv)).toBe(v.iv);

    const t = srtpTransform(v);
    const rtp = hex(v.rtp);
    const out = new Uint8Array(rtp.length + TAG);
    t.protect(rtp, v.headerLengthBytes, v.ssrc, v.index, out, NONE);
    expect(toHex(out)).toBe(v.srtp);
    expect(toHex(rtp)).toBe(v.rtp);

    const back = new Uint8Array(rtp.length);
    expect(t.unprotect(hex(v.srtp), v.headerLengthBytes, v.ssrc, v.index, NONE, back)).toBe(true);
    expect(toHex(back)).toBe(v.rtp);
  });

  it.each(RFC7714.srtcp.map((v) => [v.source, v] as const))('%s: IV, protect, unprotect', (_, v) => {
    const iv = new Uint8Array(12);
    writeSrtcpGcmIv(hex(v.sessionSalt), v.ssrc, v.index, iv);
    expect(toHex(iv)).toBe(v.iv);

    const t = srtcpTransform(v);
    const rtcp = hex(v.rtcp);
    const region = new Uint8Array(rtcp.length + TAG + WORD);
    t.protect(rtcp, v.ssrc, v.index, v.encrypt, region, NONE);
    expect(toHex(region)).toBe(v.srtcp);

    const back = new Uint8Array(rtcp.length);
    expect(t.unprotect(hex(v.srtcp), v.ssrc, v.index, v.encrypt, NONE, back)).toBe(true);
    expect(toHex(back)).toBe(v.rtcp);
  });

  it('the self-test fails on a wrong GCM vector', () => {
    const v = SUITE_KNOWN_ANSWERS.gcmSrtcp[1]!;
    const bad = { ...SUITE_KNOWN_ANSWERS, gcmSrtcp: [{ ...v, srtcp: v.srtcp.replace(/841d/, '841e') }] };
    expect(() => checkSuiteKnownAnswers(bad)).toThrow(
      'SRTP self-test failed: RFC 7714 §16, SRTCP AEAD_AES_128_GCM authentication only (E = 0): protect is',
    );
  });
});

describe('AEAD_AES_*_GCM SRTP transform rejects', () => {
  const v = RFC7714.srtp[0]!;
  const srtp = hex(v.srtp);

  function open(packet: Uint8Array, opts: { index?: number; ssrc?: number; tag?: Uint8Array } = {}): boolean {
    const before = toHex(packet);
    const out = new Uint8Array(Math.max(packet.length - TAG, 0));
    const ok = srtpTransform(v).unprotect(
      packet,
      v.headerLengthBytes,
      opts.ssrc ?? v.ssrc,
      opts.index ?? v.index,
      opts.tag ?? NONE,
      out,
    );
    expect(toHex(packet)).toBe(before); // never writes its input
    return ok;
  }

  it('a modified header (the AAD), ciphertext or tag, a wrong ROC or SSRC', () => {
    expect(open(srtp)).toBe(true);
    for (const at of [1, 11, 12, 30, srtp.length - TAG, srtp.length - 1]) {
      const bad = Uint8Array.from(srtp);
      bad[at]! ^= 0x01;
      expect(open(bad), `byte ${at}`).toBe(false);
    }
    expect(open(srtp, { index: v.index + 0x10000 })).toBe(false);
    expect(open(srtp, { ssrc: v.ssrc ^ 1 })).toBe(false);
  });

  it('a packet shorter than header + tag, or an SRTP auth tag where GCM has none, without throwing', () => {
    expect(open(srtp.subarray(0, v.headerLengthBytes + TAG - 1))).toBe(false);
    expect(open(srtp.subarray(0, 3))).toBe(false);
    expect(open(srtp, { tag: new Uint8Array(10) })).toBe(false);
  });

  it('a packet of header and tag only (empty payload) round-trips', () => {
    const t = srtpTransform(v);
    const rtp = hex(v.rtp).subarray(0, 12);
    const out = new Uint8Array(12 + TAG);
    t.protect(rtp, 12, v.ssrc, 7, out, NONE);
    const back = new Uint8Array(12);
    expect(t.unprotect(out, 12, v.ssrc, 7, NONE, back)).toBe(true);
    expect(toHex(back)).toBe(toHex(rtp));
  });
});

describe('AEAD_AES_*_GCM SRTCP transform rejects', () => {
  it.each(RFC7714.srtcp.map((v) => [v.source, v] as const))(
    '%s: modified bytes, a flipped E flag, another index',
    (_, v) => {
      const t = srtcpTransform(v);
      const region = hex(v.srtcp);
      const out = new Uint8Array(region.length - TAG - WORD);
      for (const at of [0, 7, 8, region.length - WORD - TAG, region.length - WORD - 1, region.length - 1]) {
        const bad = Uint8Array.from(region);
        bad[at]! ^= 0x01;
        expect(t.unprotect(bad, v.ssrc, v.index, v.encrypt, NONE, out), `byte ${at}`).toBe(false);
      }
      expect(t.unprotect(region, v.ssrc, v.index, !v.encrypt, NONE, out)).toBe(false);
      expect(t.unprotect(region, v.ssrc, v.index + 1, v.encrypt, NONE, out)).toBe(false);
      expect(t.unprotect(region, v.ssrc, -1, v.encrypt, NONE, out)).toBe(false);
      expect(t.unprotect(region, v.ssrc, v.index, v.encrypt, new Uint8Array(10), out)).toBe(false);
      const short = region.subarray(0, 8 + TAG + WORD - 1);
      expect(t.unprotect(short, v.ssrc, v.index, v.encrypt, NONE, new Uint8Array(7))).toBe(false);
      expect(toHex(region)).toBe(v.srtcp);
    },
  );

  it('protect refuses an index over 31 bits and an RTCP packet under 8 bytes', () => {
    const v = RFC7714.srtcp[0]!;
    const t = srtcpTransform(v);
    const rtcp = hex(v.rtcp);
    const region = new Uint8Array(rtcp.length + TAG + WORD);
    expect(() => t.protect(rtcp, v.ssrc, 0x8000_0000, true, region, NONE)).toThrow(
      'SRTCP protect: index must be an integer in 0..2147483647, got 2147483648',
    );
    expect(() => t.protect(rtcp.subarray(0, 7), v.ssrc, 1, true, new Uint8Array(27), NONE)).toThrow(
      'SRTCP protect: an RTCP packet is at least 8 bytes, got 7',
    );
  });
});

describe('AEAD_AES_128_GCM and AEAD_AES_256_GCM profiles', () => {
  it('declare the sizes of RFC 7714', () => {
    for (const [name, keyBytes] of [
      ['AEAD_AES_128_GCM', 16],
      ['AEAD_AES_256_GCM', 32],
    ] as const) {
      expect(SRTP_PROFILES[name]).toMatchObject({
        name,
        masterKeyBytes: keyBytes,
        masterSaltBytes: 12,
        authTagBytes: 0,
        cipherOverheadBytes: 16,
        maxPacketsPerKey: 2 ** 48,
      });
      expect(typeof SRTP_PROFILES[name].createSrtcpTransform).toBe('function');
    }
  });

  it('throw exact messages on wrong master key and salt lengths', () => {
    const p128 = SRTP_PROFILES.AEAD_AES_128_GCM;
    const p256 = SRTP_PROFILES.AEAD_AES_256_GCM;
    expect(() => p128.createTransform(new Uint8Array(32), new Uint8Array(12))).toThrow(
      'AEAD_AES_128_GCM: masterKey must be 16 bytes, got 32',
    );
    expect(() => p256.createTransform(new Uint8Array(32), new Uint8Array(14))).toThrow(
      'AEAD_AES_256_GCM: masterSalt must be 12 bytes, got 14',
    );
    expect(() => p256.createSrtcpTransform(new Uint8Array(16), new Uint8Array(12))).toThrow(
      'AEAD_AES_256_GCM: masterKey must be 32 bytes, got 16',
    );
  });

  it('derive session keys with the RFC 3711 PRF, the 12-byte salt zero-padded (libsrtp-compatible value)', () => {
    // Master key 00..0f, salt 40..4b: the SRTP session salt a libsrtp-compatible stack derives (label 2 on
    // byte 7 of salt ‖ 0000). GStreamer's srtpdec (libsrtp) decrypting keycast's GCM output checks the rest.
    const masterKey = Uint8Array.from({ length: 16 }, (_, i) => i);
    const masterSalt = Uint8Array.from({ length: 12 }, (_, i) => 0x40 + i);
    expect(toHex(deriveSrtpGcmKeys(masterKey, masterSalt).salt)).toBe('1fcd5d561e66dc49ec1c3ccb');
    const rtcp = deriveSrtcpGcmKeys(masterKey, masterSalt);
    const rtp = deriveSrtpGcmKeys(masterKey, masterSalt);
    expect(toHex(rtcp.key)).not.toBe(toHex(rtp.key));
    expect(rtcp.key.length).toBe(16);
    expect(deriveSrtpGcmKeys(new Uint8Array(32), masterSalt).key.length).toBe(32);
  });

  it.each(['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const)(
    '%s: SRTP and SRTCP round-trip from a master key; after zeroize both refuse to work',
    (name) => {
      const p = SRTP_PROFILES[name];
      const mk = Uint8Array.from({ length: p.masterKeyBytes }, (_, i) => i * 3);
      const ms = Uint8Array.from({ length: 12 }, (_, i) => i * 5);
      const t = p.createTransform(mk, ms);
      const rtp = hex(RFC7714.srtp[0]!.rtp);
      const out = new Uint8Array(rtp.length + TAG);
      t.protect(rtp, 12, 0x5501a0b2, 0x1_f17b, out, NONE);
      const back = new Uint8Array(rtp.length);
      expect(t.unprotect(out, 12, 0x5501a0b2, 0x1_f17b, NONE, back)).toBe(true);
      expect(toHex(back)).toBe(toHex(rtp));

      const c = p.createSrtcpTransform(mk, ms);
      const rtcp = hex(RFC7714.srtcp[0]!.rtcp);
      const region = new Uint8Array(rtcp.length + TAG + WORD);
      c.protect(rtcp, 0x4d617273, 5, true, region, NONE);
      const rtcpBack = new Uint8Array(rtcp.length);
      expect(c.unprotect(region, 0x4d617273, 5, true, NONE, rtcpBack)).toBe(true);
      expect(toHex(rtcpBack)).toBe(toHex(rtcp));
      // SRTP and SRTCP keys differ (labels 0/2 vs 3/5): the SRTP transform cannot open the SRTCP packet's body.
      expect(toHex(region.subarray(8, rtcp.length))).not.toBe(toHex(rtcp.subarray(8)));

      t.zeroize();
      c.zeroize();
      expect(() => t.protect(rtp, 12, 1, 1, out, NONE)).toThrow('SRTP transform used after zeroize');
      expect(() => c.unprotect(region, 1, 5, true, NONE, rtcpBack)).toThrow(
        'SRTCP transform used after zeroize',
      );
    },
  );

  it('send every packet through the GcmPrimitive it was given (the native swap point)', () => {
    const v = RFC7714.srtp[0]!;
    const calls: string[] = [];
    const counting: GcmPrimitive = {
      seal(...args) {
        calls.push('seal');
        NODE_GCM.seal(...args);
      },
      open(...args) {
        calls.push('open');
        return NODE_GCM.open(...args);
      },
    };
    const t = srtpTransform(v, counting);
    const rtp = hex(v.rtp);
    const out = new Uint8Array(rtp.length + TAG);
    t.protect(rtp, 12, v.ssrc, v.index, out, NONE);
    expect(toHex(out)).toBe(v.srtp);
    expect(t.unprotect(out, 12, v.ssrc, v.index, NONE, new Uint8Array(rtp.length))).toBe(true);
    expect(calls).toEqual(['seal', 'open']);
  });
});
