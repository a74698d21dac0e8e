// The tag comparison goes through crypto.timingSafeEqual, after a length check (STYLE.md "Crypto"). This is the
// node:crypto path; the native addon compares with CRYPTO_memcmp (native/keycast_srtp.c), which JS cannot observe.
import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ lengths: [] as [number, number][] }));

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
      calls.lengths.push([a.byteLength, b.byteLength]);
      return actual.timingSafeEqual(a, b);
    },
  };
});

const { AesCmHmacSha1Transform } = await import('../../src/crypto/aes-cm-hmac-sha1.js');
const { hex } = await import('../srtp/helpers.js');
const { LIBSRTP } = await import('./vectors.js');

describe('tag comparison', () => {
  it('uses timingSafeEqual on equal-length tags, and skips it when the length differs', () => {
    const p = LIBSRTP.packets[0]!;
    const t = new AesCmHmacSha1Transform(hex(p.masterKey), hex(p.masterSalt), {
      sessionKeyBytes: 16,
      sessionSaltBytes: 14,
      authTagBytes: 10,
      native: false,
    });
    const srtp = hex(p.srtp);
    calls.lengths.length = 0;
    expect(
      t.unprotect(srtp.subarray(0, 28), 12, 0xcafebabe, p.index, srtp.subarray(28), new Uint8Array(28)),
    ).toBe(true);
    expect(calls.lengths).toEqual([[10, 10]]);
    calls.lengths.length = 0;
    expect(
      t.unprotect(srtp.subarray(0, 28), 12, 0xcafebabe, p.index, srtp.subarray(29), new Uint8Array(28)),
    ).toBe(false);
    expect(calls.lengths).toEqual([]);
  });
});
