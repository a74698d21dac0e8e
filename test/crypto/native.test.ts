// The native addon (native/keycast_srtp.c via src/crypto/native.ts) against the node:crypto path: the same bytes
// on the libsrtp reference packets and on random packets, the same refusals, and GCM against node:crypto's GCM.
// Without the addon (no gcc, KEYCAST_NATIVE=0) the comparisons are skipped, visibly; CI requires the addon.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AesCmHmacSha1Transform } from '../../src/crypto/aes-cm-hmac-sha1.js';
import { createNativeAesGcm, nativeAesGcmOnce, nativeSrtpStatus } from '../../src/crypto/native.js';
import { hex, toHex } from '../srtp/helpers.js';
import { LIBSRTP } from './vectors.js';

const loaded = nativeSrtpStatus().loaded;
const requireNative = process.env.KEYCAST_REQUIRE_TOOLS === '1' && process.env.KEYCAST_NATIVE !== '0';

function transforms(masterKey: Uint8Array, masterSalt: Uint8Array, authTagBytes: number) {
  const params = { sessionKeyBytes: masterKey.length, sessionSaltBytes: 14 as const, authTagBytes };
  return {
    native: new AesCmHmacSha1Transform(masterKey, masterSalt, params),
    ts: new AesCmHmacSha1Transform(masterKey, masterSalt, { ...params, native: false }),
  };
}

function protect(
  t: AesCmHmacSha1Transform,
  rtp: Uint8Array,
  headerBytes: number,
  ssrc: number,
  index: number,
) {
  const out = new Uint8Array(rtp.length + t.authTagBytes);
  t.protect(rtp, headerBytes, ssrc, index, out.subarray(0, rtp.length), out.subarray(rtp.length));
  return out;
}

describe('native SRTP addon', () => {
  it('is loaded where CI requires it, and says why when it is not', () => {
    const s = nativeSrtpStatus();
    if (requireNative) expect(s).toEqual({ loaded: true });
    if (process.env.KEYCAST_NATIVE === '0') expect(s).toEqual({ loaded: false, reason: 'KEYCAST_NATIVE=0' });
    if (!s.loaded) expect(s.reason.length).toBeGreaterThan(0);
  });

  it.skipIf(!loaded).each(LIBSRTP.packets.map((p) => [p.profile, p] as const))(
    '%s: the libsrtp reference packet, byte for byte, both ways',
    (_, p) => {
      const { native, ts } = transforms(
        hex(p.masterKey),
        hex(p.masterSalt),
        p.profile.endsWith('_80') ? 10 : 4,
      );
      expect(native.isNative).toBe(true);
      expect(ts.isNative).toBe(false);
      const rtp = hex(p.rtp);
      const srtp = protect(native, rtp, p.headerLengthBytes, 0xcafebabe, p.index);
      expect(toHex(srtp)).toBe(p.srtp);
      const back = new Uint8Array(rtp.length);
      const auth = srtp.subarray(0, rtp.length);
      expect(native.unprotect(auth, 12, 0xcafebabe, p.index, srtp.subarray(rtp.length), back)).toBe(true);
      expect(toHex(back)).toBe(p.rtp);
    },
  );

  it.skipIf(!loaded)('random packets: native and node:crypto give identical bytes and verdicts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 14, maxLength: 14 }),
        fc.uint8Array({ minLength: 12, maxLength: 1500 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(4, 10),
        fc.integer({ min: 0, max: 1500 }),
        (key, salt, rtp, index, ssrc, tagBytes, flipAt) => {
          const headerBytes = Math.min(12, rtp.length);
          const { native, ts } = transforms(key, salt, tagBytes);
          const a = protect(native, rtp, headerBytes, ssrc, index);
          const b = protect(ts, rtp, headerBytes, ssrc, index);
          expect(toHex(a)).toBe(toHex(b));
          const auth = a.subarray(0, rtp.length);
          const tag = a.subarray(rtp.length);
          for (const t of [native, ts]) {
            const out = new Uint8Array(rtp.length);
            expect(t.unprotect(auth, headerBytes, ssrc, index, tag, out)).toBe(true);
            expect(toHex(out)).toBe(toHex(rtp));
          }
          // One flipped bit anywhere (header, ciphertext or tag): both refuse.
          const forged = Uint8Array.from(a);
          forged[flipAt % forged.length]! ^= 0x01;
          for (const t of [native, ts]) {
            const out = new Uint8Array(rtp.length);
            const ok = t.unprotect(
              forged.subarray(0, rtp.length),
              headerBytes,
              ssrc,
              index,
              forged.subarray(rtp.length),
              out,
            );
            expect(ok).toBe(false);
          }
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });

  it.skipIf(!loaded)('AES-GCM seal and open agree with node:crypto, and refuse a bad tag or AAD', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 32),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.uint8Array({ minLength: 0, maxLength: 1500 }),
        (keyBytes, aad, plaintext) => {
          const key = randomBytes(keyBytes);
          const iv = randomBytes(12);
          const gcm = createNativeAesGcm(key)!;
          const out = new Uint8Array(plaintext.length);
          const tag = new Uint8Array(16);
          gcm.seal(iv, aad, plaintext, out, tag);
          const c = createCipheriv(keyBytes === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
          c.setAAD(aad);
          const expected = Buffer.concat([c.update(plaintext), c.final()]);
          expect(toHex(out)).toBe(expected.toString('hex'));
          expect(toHex(tag)).toBe(c.getAuthTag().toString('hex'));

          const back = new Uint8Array(plaintext.length);
          expect(gcm.open(iv, aad, out, tag, back)).toBe(true);
          expect(toHex(back)).toBe(toHex(plaintext));
          const d = createDecipheriv(keyBytes === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
          d.setAAD(aad).setAuthTag(tag);
          expect(Buffer.concat([d.update(out), d.final()]).equals(plaintext)).toBe(true);

          const badTag = Uint8Array.from(tag);
          badTag[15]! ^= 0x80;
          expect(gcm.open(iv, aad, out, badTag, back)).toBe(false);
          const badAad = Uint8Array.from([...aad, 0]);
          expect(gcm.open(iv, badAad, out, tag, back)).toBe(false);
          gcm.free();
          expect(() => gcm.open(iv, aad, out, tag, back)).toThrow('not a live GCM state');
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it.skipIf(!loaded)('throws on misuse instead of reading out of bounds, and after zeroize', () => {
    const { native } = transforms(new Uint8Array(16).fill(1), new Uint8Array(14).fill(2), 10);
    const rtp = new Uint8Array(40);
    expect(() => native.protect(rtp, 12, 1, 0, new Uint8Array(39), new Uint8Array(10))).toThrow(RangeError);
    expect(() => createNativeAesGcm(new Uint8Array(15))).toThrow('gcmCreate: key must be 16, 24 or 32 bytes');
    const gcm = createNativeAesGcm(new Uint8Array(16))!;
    expect(() => gcm.seal(new Uint8Array(11), rtp, rtp, rtp, new Uint8Array(16))).toThrow('bad lengths');
    native.zeroize();
    expect(() => native.protect(rtp, 12, 1, 0, new Uint8Array(40), new Uint8Array(10))).toThrow(
      'SRTP transform used after zeroize',
    );
  });

  it.skipIf(!loaded)('one-shot key wraps: every key size agrees with node:crypto; misuse throws', () => {
    const once = nativeAesGcmOnce()!;
    for (const keyBytes of [16, 24, 32, 16, 32]) {
      const key = randomBytes(keyBytes);
      const aad = randomBytes(20);
      const plain = randomBytes(32);
      const wrapped = new Uint8Array(12 + 32 + 16);
      wrapped.set(randomBytes(12));
      once.wrap(key, aad, plain, wrapped);
      const c = createCipheriv(`aes-${keyBytes * 8}-gcm` as 'aes-256-gcm', key, wrapped.subarray(0, 12));
      c.setAAD(aad);
      const expected = Buffer.concat([wrapped.subarray(0, 12), c.update(plain), c.final(), c.getAuthTag()]);
      expect(toHex(wrapped)).toBe(toHex(expected));
      const out = new Uint8Array(32);
      expect(once.unwrap(key, aad, wrapped, out)).toBe(true);
      expect(toHex(out)).toBe(toHex(plain));
      expect(once.unwrap(key, randomBytes(20), wrapped, out)).toBe(false);
    }
    const k = new Uint8Array(32);
    expect(() => once.wrap(new Uint8Array(15), k, k, new Uint8Array(60))).toThrow(
      'key must be 16, 24 or 32 bytes',
    );
    expect(() => once.wrap(k, k, k, new Uint8Array(59))).toThrow('bad lengths');
    expect(() => once.unwrap(k, k, new Uint8Array(60), new Uint8Array(33))).toThrow('bad lengths');
  });
});
