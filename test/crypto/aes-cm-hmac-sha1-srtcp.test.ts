// The AES-CM + HMAC-SHA1 SRTCP transform against libsrtp's reference packet and against an independent
// reference written from RFC 3711 §3.4, §4.1.1, §4.2, §4.3.2 with BigInt arithmetic.
import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesCmHmacSha1SrtcpTransform } from '../../src/crypto/aes-cm-hmac-sha1-srtcp.js';
import { SRTCP_MAX_INDEX, type SrtcpTransform } from '../../src/crypto/srtcp-transform.js';
import { SRTP_PROFILES, srtpProfile } from '../../src/crypto/srtp-profiles.js';
import { hex, loadVector, toHex } from '../srtp/helpers.js';

interface SrtcpVector {
  readonly profile: string;
  readonly masterKey: string;
  readonly masterSalt: string;
  readonly ssrc: number;
  readonly index: number;
  readonly encrypted: boolean;
  readonly rtcp: string;
  readonly srtcp: string;
}
const LIBSRTP_SRTCP = loadVector<{ source: string; packets: SrtcpVector[] }>('libsrtp-srtcp-validate.json');
const V = LIBSRTP_SRTCP.packets[0]!;
const TAG = 10;

/** protect() into one buffer: region then tag (no MKI). */
function protect(t: SrtcpTransform, rtcp: Uint8Array, ssrc: number, index: number, encrypt: boolean) {
  const out = new Uint8Array(rtcp.length + 4 + t.authTagBytes);
  t.protect(rtcp, ssrc, index, encrypt, out.subarray(0, rtcp.length + 4), out.subarray(rtcp.length + 4));
  return out;
}

function unprotect(t: SrtcpTransform, srtcp: Uint8Array, ssrc: number, index: number, encrypted: boolean) {
  const regionBytes = srtcp.length - TAG;
  const out = new Uint8Array(regionBytes - 4);
  const ok = t.unprotect(
    srtcp.subarray(0, regionBytes),
    ssrc,
    index,
    encrypted,
    srtcp.subarray(regionBytes),
    out,
  );
  return ok ? out : undefined;
}

// ---- independent reference (BigInt IV, labels 3-5) ----
function big(b: Uint8Array): bigint {
  return b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
}
function bytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
function ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ctr`, key, iv);
  return Uint8Array.from(Buffer.concat([c.update(data), c.final()]));
}
function kdf(mk: Uint8Array, ms: Uint8Array, label: number, n: number): Uint8Array {
  return ctr(mk, bytes((big(ms) ^ (BigInt(label) << 48n)) << 16n, 16), new Uint8Array(n));
}
function referenceSrtcp(
  mk: Uint8Array,
  ms: Uint8Array,
  rtcp: Uint8Array,
  index: number,
  e: boolean,
): Uint8Array {
  const ke = kdf(mk, ms, 3, mk.length);
  const ka = kdf(mk, ms, 4, 20);
  const ks = kdf(mk, ms, 5, 14);
  const ssrc = big(rtcp.subarray(4, 8));
  const iv = (big(ks) << 16n) ^ (ssrc << 64n) ^ (BigInt(index) << 16n);
  const body = e ? ctr(ke, bytes(iv, 16), rtcp.subarray(8)) : rtcp.subarray(8);
  const word = bytes((e ? 1n << 31n : 0n) | BigInt(index), 4);
  const region = Buffer.concat([rtcp.subarray(0, 8), body, word]);
  const tag = createHmac('sha1', ka).update(region).digest().subarray(0, 10);
  return Uint8Array.from(Buffer.concat([region, tag]));
}

const RTCP = hex(V.rtcp);
const transform = (profile = V.profile) =>
  srtpProfile(profile).createSrtcpTransform(hex(V.masterKey), hex(V.masterSalt));

describe('AES-CM + HMAC-SHA1 SRTCP transform', () => {
  it.each(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'])(
    '%s: protects and unprotects the libsrtp SRTCP reference packet (80-bit tag for both)',
    (profile) => {
      const t = transform(profile);
      expect(t.authTagBytes).toBe(10);
      expect(t.cipherOverheadBytes).toBe(0);
      const out = protect(t, RTCP, V.ssrc, V.index, V.encrypted);
      expect(toHex(out)).toBe(V.srtcp);
      expect(toHex(unprotect(t, out, V.ssrc, V.index, true)!)).toBe(V.rtcp);
    },
  );

  it.each([
    [0, true],
    [0, false],
    [1, false],
    [0x1234_5678, true],
    [SRTCP_MAX_INDEX - 1, true],
    [SRTCP_MAX_INDEX, true],
    [SRTCP_MAX_INDEX, false],
  ] as const)('index %i, E=%s: matches the BigInt reference and round-trips', (index, e) => {
    const rtcp = hex('80c90001deadbeef' + 'a5'.repeat(37) + '00');
    const t = transform();
    const out = protect(t, rtcp, 0xdeadbeef, index, e);
    expect(toHex(out)).toBe(toHex(referenceSrtcp(hex(V.masterKey), hex(V.masterSalt), rtcp, index, e)));
    const word = new DataView(out.buffer).getUint32(rtcp.length);
    expect(word >>> 31).toBe(e ? 1 : 0);
    expect(word & 0x7fff_ffff).toBe(index);
    if (!e) expect(toHex(out.subarray(0, rtcp.length))).toBe(toHex(rtcp)); // E=0: the body stays in the clear
    expect(toHex(unprotect(t, out, 0xdeadbeef, index, e)!)).toBe(toHex(rtcp));
  });

  it('AES-256 session keys (the AES_256_CM profile reuses this transform) match the reference', () => {
    const mk = Uint8Array.from({ length: 32 }, (_, i) => i * 3 + 1);
    const ms = Uint8Array.from({ length: 14 }, (_, i) => 0xf0 - i);
    const t = new AesCmHmacSha1SrtcpTransform(mk, ms, { sessionKeyBytes: 32 });
    const rtcp = hex('80c80006cafebabe' + '11'.repeat(20));
    expect(toHex(protect(t, rtcp, 0xcafebabe, 7, true))).toBe(toHex(referenceSrtcp(mk, ms, rtcp, 7, true)));
  });

  it('rejects any one flipped bit of the packet or tag, and never writes its inputs', () => {
    const t = transform();
    const srtcp = hex(V.srtcp);
    for (let i = 0; i < srtcp.length; i++) {
      const bad = Uint8Array.from(srtcp);
      bad[i]! ^= 1 << (i % 8);
      const before = toHex(bad);
      expect(unprotect(t, bad, V.ssrc, V.index, true), `byte ${i}`).toBeUndefined();
      expect(toHex(bad)).toBe(before);
    }
  });

  it('rejects a short tag, a region shorter than header + index word, and an index out of range', () => {
    const t = transform();
    const srtcp = hex(V.srtcp);
    const region = srtcp.subarray(0, 28);
    const out = new Uint8Array(24);
    expect(t.unprotect(region, V.ssrc, 1, true, srtcp.subarray(28, 37), out)).toBe(false);
    expect(t.unprotect(region.subarray(0, 11), V.ssrc, 1, true, srtcp.subarray(28), new Uint8Array(7))).toBe(
      false,
    );
    expect(t.unprotect(region, V.ssrc, SRTCP_MAX_INDEX + 1, true, srtcp.subarray(28), out)).toBe(false);
  });

  it('throws on misuse: index out of range, a short RTCP packet, wrong buffer sizes, use after zeroize', () => {
    const t = transform();
    expect(() => protect(t, RTCP, V.ssrc, SRTCP_MAX_INDEX + 1, true)).toThrow(
      /index must be an integer in 0\.\.2147483647/,
    );
    expect(() => protect(t, RTCP, V.ssrc, -1, true)).toThrow(/index/);
    expect(() => protect(t, RTCP.subarray(0, 7), V.ssrc, 0, true)).toThrow(/at least 8 bytes/);
    expect(() => t.protect(RTCP, V.ssrc, 0, true, new Uint8Array(27), new Uint8Array(10))).toThrow(
      /regionOut must be 28 bytes/,
    );
    t.zeroize();
    expect(() => protect(t, RTCP, V.ssrc, 0, true)).toThrow(/after zeroize/);
  });

  it('every registered profile has an SRTCP transform with the exact length check', () => {
    for (const p of Object.values(SRTP_PROFILES)) {
      expect(() => p.createSrtcpTransform(new Uint8Array(3), new Uint8Array(14))).toThrow(
        `${p.name}: masterKey must be ${p.masterKeyBytes} bytes, got 3`,
      );
    }
  });
});
