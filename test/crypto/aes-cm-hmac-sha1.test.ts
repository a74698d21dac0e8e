import { describe, expect, it } from 'vitest';
import { AesCmHmacSha1Transform } from '../../src/crypto/aes-cm-hmac-sha1.js';
import { SRTP_PROFILES, srtpProfile } from '../../src/crypto/srtp-profiles.js';
import { hex, toHex } from '../srtp/helpers.js';
import { LIBSRTP } from './vectors.js';

describe('AES_CM_128_HMAC_SHA1_80 and _32 transforms', () => {
  it('declare the sizes of RFC 3711 / RFC 4568', () => {
    expect(SRTP_PROFILES.AES_CM_128_HMAC_SHA1_80).toMatchObject({
      masterKeyBytes: 16,
      masterSaltBytes: 14,
      authTagBytes: 10,
      cipherOverheadBytes: 0,
      maxPacketsPerKey: 2 ** 48,
    });
    expect(SRTP_PROFILES.AES_CM_128_HMAC_SHA1_32).toMatchObject({
      masterKeyBytes: 16,
      masterSaltBytes: 14,
      authTagBytes: 4,
    });
  });

  it.each(LIBSRTP.packets.map((p) => [p.profile, p] as const))(
    '%s: protects and unprotects the libsrtp reference packet',
    (_, p) => {
      const t = srtpProfile(p.profile).createTransform(hex(p.masterKey), hex(p.masterSalt));
      const rtp = hex(p.rtp);
      const out = new Uint8Array(rtp.length + t.authTagBytes);
      t.protect(
        rtp,
        p.headerLengthBytes,
        0xcafebabe,
        p.index,
        out.subarray(0, rtp.length),
        out.subarray(rtp.length),
      );
      expect(toHex(out)).toBe(p.srtp);
      const back = new Uint8Array(rtp.length);
      expect(
        t.unprotect(out.subarray(0, rtp.length), 12, 0xcafebabe, p.index, out.subarray(rtp.length), back),
      ).toBe(true);
      expect(toHex(back)).toBe(p.rtp);
    },
  );

  it('rejects a wrong tag, a wrong ROC and a wrong tag length, and never writes its inputs', () => {
    const p = LIBSRTP.packets[0]!;
    const t = srtpProfile(p.profile).createTransform(hex(p.masterKey), hex(p.masterSalt));
    const srtp = hex(p.srtp);
    const before = toHex(srtp);
    const auth = srtp.subarray(0, 28);
    const tag = srtp.subarray(28);
    const out = new Uint8Array(28);
    expect(t.unprotect(auth, 12, 0xcafebabe, p.index + 0x10000, tag, out)).toBe(false); // ROC 1 instead of 0
    expect(t.unprotect(auth, 12, 0xcafebabe, p.index, tag.subarray(0, 9), out)).toBe(false);
    const badTag = Uint8Array.from(tag);
    badTag[9]! ^= 0x80;
    expect(t.unprotect(auth, 12, 0xcafebabe, p.index, badTag, out)).toBe(false);
    expect(toHex(srtp)).toBe(before);
  });

  it('throws exact messages on wrong key and salt lengths', () => {
    expect(() =>
      SRTP_PROFILES.AES_CM_128_HMAC_SHA1_80.createTransform(new Uint8Array(15), new Uint8Array(14)),
    ).toThrow('AES_CM_128_HMAC_SHA1_80: masterKey must be 16 bytes, got 15');
    expect(() =>
      SRTP_PROFILES.AES_CM_128_HMAC_SHA1_32.createTransform(new Uint8Array(16), new Uint8Array(16)),
    ).toThrow('AES_CM_128_HMAC_SHA1_32: masterSalt must be 14 bytes, got 16');
    expect(() => srtpProfile('AES_CM_256_HMAC_SHA1_80')).toThrow(
      'Unknown SRTP profile: AES_CM_256_HMAC_SHA1_80',
    );
  });

  it('after zeroize, refuses to work', () => {
    const t = new AesCmHmacSha1Transform(new Uint8Array(16).fill(1), new Uint8Array(14).fill(2), {
      sessionKeyBytes: 16,
      sessionSaltBytes: 14,
      authTagBytes: 10,
    });
    t.zeroize();
    const rtp = hex('800f1234decafbadcafebabe00');
    expect(() => t.protect(rtp, 12, 0, 0, new Uint8Array(13), new Uint8Array(10))).toThrow(
      'SRTP transform used after zeroize',
    );
  });
});
