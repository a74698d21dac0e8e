import { createCipheriv, createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unwrapKey, wrapKey, WRAP_OVERHEAD_BYTES } from '../../src/crypto/aead-wrap.js';
import { constantTimeEqual, hkdfSha256, hmacSha256, sha256Hex } from '../../src/crypto/mac.js';
import { fillRandom, randomBytes } from '../../src/crypto/random.js';
import {
  generateSigningKeyPair,
  signEd25519,
  signingPublicKey,
  verifyEd25519,
} from '../../src/crypto/sign.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const aad = new TextEncoder().encode('ctx');

describe('AES-256-GCM key wrap', () => {
  it('round-trips and has nonce‖ciphertext‖tag layout', () => {
    const kek = randomBytes(32);
    const key = randomBytes(30);
    const w = wrapKey(kek, key, aad);
    expect(w.length).toBe(30 + WRAP_OVERHEAD_BYTES);
    expect(unwrapKey(kek, w, aad)).toEqual({ ok: true, key });
    expect(toHex(wrapKey(kek, key, aad))).not.toBe(toHex(w)); // fresh nonce
  });
  it('fails on another AAD, another key, a flipped bit, or a short input', () => {
    const kek = randomBytes(32);
    const w = wrapKey(kek, randomBytes(32), aad);
    expect(unwrapKey(kek, w, new TextEncoder().encode('ctx2'))).toEqual({ ok: false, reason: 'auth_fail' });
    expect(unwrapKey(randomBytes(32), w, aad)).toEqual({ ok: false, reason: 'auth_fail' });
    for (const i of [0, 12, w.length - 1]) {
      const t = w.slice();
      t[i]! ^= 1;
      expect(unwrapKey(kek, t, aad)).toEqual({ ok: false, reason: 'auth_fail' });
    }
    expect(unwrapKey(kek, w.subarray(0, WRAP_OVERHEAD_BYTES), aad)).toEqual({
      ok: false,
      reason: 'too_short',
    });
  });
  it('is plain AES-256-GCM: node:crypto opens its wraps and it opens node:crypto wraps (native addon or not)', () => {
    const kek = randomBytes(32);
    const key = randomBytes(46);
    const w = wrapKey(kek, key, aad);
    const d = createDecipheriv('aes-256-gcm', kek, w.subarray(0, 12));
    d.setAAD(aad);
    d.setAuthTag(w.subarray(w.length - 16));
    expect(toHex(Buffer.concat([d.update(w.subarray(12, w.length - 16)), d.final()]))).toBe(toHex(key));
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', kek, nonce);
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(key), c.final()]);
    const theirs = new Uint8Array(Buffer.concat([nonce, ct, c.getAuthTag()]));
    expect(unwrapKey(kek, theirs, aad)).toEqual({ ok: true, key });
  });
  it('keeps agreeing with node:crypto through interleaved wraps, failed unwraps and good ones (reused native state)', () => {
    const open = (kek: Uint8Array, w: Uint8Array) => {
      const d = createDecipheriv('aes-256-gcm', kek, w.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(w.subarray(w.length - 16));
      return toHex(Buffer.concat([d.update(w.subarray(12, w.length - 16)), d.final()]));
    };
    for (let i = 0; i < 50; i++) {
      const kek = randomBytes(32);
      const key = randomBytes(32);
      const w = wrapKey(kek, key, aad);
      expect(open(kek, w)).toBe(toHex(key));
      const bad = w.slice();
      bad[12 + (i % 32)]! ^= 1 << (i % 8);
      expect(unwrapKey(kek, bad, aad)).toEqual({ ok: false, reason: 'auth_fail' });
      expect(unwrapKey(randomBytes(32), w, aad)).toEqual({ ok: false, reason: 'auth_fail' });
      expect(unwrapKey(kek, w, aad)).toEqual({ ok: true, key });
    }
  });
  it('throws on a wrong-length KEK (programming error)', () => {
    expect(() => wrapKey(randomBytes(16), randomBytes(16), aad)).toThrow(/32 bytes/);
  });
});

describe('CSPRNG pool', () => {
  it('never hands out the same bytes twice, across pool refills and request sizes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(12 + (i % 53)); // 12..64 bytes: all through the pool, several refills
      fillRandom(b);
      const h = toHex(b.subarray(0, 12));
      expect(seen.has(h)).toBe(false);
      seen.add(h);
    }
    const big = new Uint8Array(100); // over the pool's request limit: straight from node:crypto
    fillRandom(big);
    expect(big.some((x) => x !== 0)).toBe(true);
  });
});

describe('HMAC, HKDF, SHA-256', () => {
  it('HMAC-SHA256 matches RFC 4231 test case 1', () => {
    expect(toHex(hmacSha256(hex('0b'.repeat(20)), 'Hi There'))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });
  it('HKDF-SHA256 matches RFC 5869 test case 1', () => {
    const okm = hkdfSha256(
      hex('0b'.repeat(22)),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
      hex('000102030405060708090a0b0c'),
    );
    expect(toHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
  it('SHA-256 of the empty string', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it('constant-time compare checks length first', () => {
    expect(constantTimeEqual(hex('0102'), hex('0102'))).toBe(true);
    expect(constantTimeEqual(hex('0102'), hex('0103'))).toBe(false);
    expect(constantTimeEqual(hex('0102'), hex('010200'))).toBe(false);
  });
});

describe('Ed25519 with raw keys', () => {
  it('matches RFC 8032 §7.1 test 1', () => {
    const sk = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const pk = signingPublicKey(sk);
    expect(toHex(pk)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = signEd25519(sk, new Uint8Array(0));
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verifyEd25519(pk, new Uint8Array(0), sig)).toBe(true);
  });
  it('rejects a tampered message or signature, and a wrong-length signature, without throwing', () => {
    const kp = generateSigningKeyPair();
    expect(kp.publicKey.length).toBe(32);
    expect(kp.privateKey.length).toBe(32);
    const msg = randomBytes(100);
    const sig = signEd25519(kp.privateKey, msg);
    expect(verifyEd25519(kp.publicKey, msg, sig)).toBe(true);
    const m2 = msg.slice();
    m2[5]! ^= 0x80;
    expect(verifyEd25519(kp.publicKey, m2, sig)).toBe(false);
    const s2 = sig.slice();
    s2[63]! ^= 1;
    expect(verifyEd25519(kp.publicKey, msg, s2)).toBe(false);
    expect(verifyEd25519(kp.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(generateSigningKeyPair().publicKey, msg, sig)).toBe(false);
  });
});
