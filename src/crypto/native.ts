// The optional native SRTP crypto addon (native/keycast_srtp.c, built at `npm install` by native/build.js against
// the OpenSSL inside node). node:crypto's fixed cost of 2-5 µs per call dominates at packet sizes; the addon does a
// whole packet in one call with the key schedule and HMAC pads kept. Absent, unloadable, disagreeing with node:crypto
// on a known answer, or disabled with KEYCAST_NATIVE=0: every caller falls back to the pure-TypeScript path.

import { createCipheriv, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

type NativeState = object;

interface NativeAddon {
  cmCreate(encKey: Uint8Array, salt: Uint8Array, authKey: Uint8Array): NativeState;
  cmProtect(
    s: NativeState,
    ssrc: number,
    index: number,
    rtp: Uint8Array,
    headerLengthBytes: number,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void;
  cmUnprotect(
    s: NativeState,
    ssrc: number,
    index: number,
    authenticated: Uint8Array,
    headerLengthBytes: number,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  gcmCreate(key: Uint8Array): NativeState;
  gcmSeal(
    s: NativeState,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): boolean;
  gcmOpen(
    s: NativeState,
    iv: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  gcmWrapOnce(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, wrapped: Uint8Array): boolean;
  gcmUnwrapOnce(key: Uint8Array, aad: Uint8Array, wrapped: Uint8Array, out: Uint8Array): boolean;
  free(s: NativeState): void;
}

/** Where the addon is built; the same relative path from src/crypto/ and dist/crypto/. */
const ADDON_PATH = '../../native/build/keycast_srtp.node';

export type NativeStatus = { readonly loaded: true } | { readonly loaded: false; readonly reason: string };

let status: NativeStatus = { loaded: false, reason: 'not loaded yet' };
const addon: NativeAddon | undefined = load();

function load(): NativeAddon | undefined {
  if (process.env.KEYCAST_NATIVE === '0') {
    status = { loaded: false, reason: 'KEYCAST_NATIVE=0' };
    return undefined;
  }
  let a: NativeAddon;
  try {
    a = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (err) {
    status = { loaded: false, reason: `cannot load ${ADDON_PATH}: ${(err as Error).message.split('\n')[0]}` };
    return undefined;
  }
  if (!agreesWithNodeCrypto(a)) {
    status = { loaded: false, reason: 'known-answer check against node:crypto failed' };
    return undefined;
  }
  status = { loaded: true };
  return a;
}

/** Whether the addon is in use, and why not. */
export function nativeSrtpStatus(): NativeStatus {
  return status;
}

/** One packet with fixed bytes through the addon and through node:crypto: both must give the same bytes. */
function agreesWithNodeCrypto(a: NativeAddon): boolean {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const salt = Uint8Array.from({ length: 14 }, (_, i) => 0xa0 + i);
  const authKey = Uint8Array.from({ length: 20 }, (_, i) => 0x40 + i);
  const rtp = Uint8Array.from({ length: 60 }, (_, i) => (i * 37) & 0xff);
  const ssrc = 0x01020304;
  const index = 0x1_0002_0003; // ROC 0x10002 (≥ 2^16: checks the 48-bit arithmetic), SEQ 3
  const out = new Uint8Array(rtp.length);
  const tag = new Uint8Array(10);
  const s = a.cmCreate(key, salt, authKey);
  a.cmProtect(s, ssrc, index, rtp, 12, out, tag);
  a.free(s);

  const iv = new Uint8Array(16);
  iv.set(salt);
  const ivView = new DataView(iv.buffer);
  ivView.setUint32(4, (ivView.getUint32(4) ^ ssrc) >>> 0);
  ivView.setUint16(8, ivView.getUint16(8) ^ 0x0001);
  ivView.setUint32(10, (ivView.getUint32(10) ^ 0x0002_0003) >>> 0);
  const body = createCipheriv('aes-128-ctr', key, iv).update(rtp.subarray(12));
  const expected = Buffer.concat([rtp.subarray(0, 12), body]);
  const roc = Buffer.from([0, 1, 0, 2]);
  const expectedTag = createHmac('sha1', authKey).update(expected).update(roc).digest().subarray(0, 10);
  if (!expected.equals(out) || !expectedTag.equals(tag)) return false;

  const g = a.gcmCreate(key);
  const sealed = new Uint8Array(48);
  const gcmTag = new Uint8Array(16);
  a.gcmSeal(g, iv.subarray(0, 12), rtp.subarray(0, 12), rtp.subarray(12), sealed, gcmTag);
  a.free(g);
  const c = createCipheriv('aes-128-gcm', key, iv.subarray(0, 12));
  c.setAAD(rtp.subarray(0, 12));
  const gcmExpected = Buffer.concat([c.update(rtp.subarray(12)), c.final()]);
  if (!gcmExpected.equals(sealed) || !c.getAuthTag().equals(gcmTag)) return false;

  // One-shot AES-256-GCM key wrap (nonce ‖ ciphertext ‖ tag): agrees with node:crypto, unwraps, refuses a flipped tag.
  const kek = Uint8Array.from({ length: 32 }, (_, i) => 0x60 + i);
  const wrapped = new Uint8Array(12 + authKey.length + 16);
  wrapped.set(iv.subarray(0, 12));
  a.gcmWrapOnce(kek, salt, authKey, wrapped);
  const w = createCipheriv('aes-256-gcm', kek, iv.subarray(0, 12));
  w.setAAD(salt);
  const wrapExpected = Buffer.concat([iv.subarray(0, 12), w.update(authKey), w.final(), w.getAuthTag()]);
  if (!wrapExpected.equals(wrapped)) return false;
  const opened = new Uint8Array(authKey.length);
  if (!a.gcmUnwrapOnce(kek, salt, wrapped, opened) || !Buffer.from(opened).equals(authKey)) return false;
  wrapped[wrapped.length - 1]! ^= 1;
  return !a.gcmUnwrapOnce(kek, salt, wrapped, opened);
}

/** AES-CM + HMAC-SHA1 (RFC 3711) for one set of session keys, one packet per call. */
export interface NativeAesCmHmacSha1 {
  /** out = header || AES-CM(payload) (out.length === rtp.length); tagOut = the first tagOut.length MAC bytes. */
  protect(
    ssrc: number,
    index: number,
    rtp: Uint8Array,
    headerLengthBytes: number,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void;
  /** Checks the tag (CRYPTO_memcmp), then decrypts into out; false (out untouched) on a bad tag. */
  unprotect(
    ssrc: number,
    index: number,
    authenticated: Uint8Array,
    headerLengthBytes: number,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /** Cleanses and frees the keys in the addon; later calls throw. */
  free(): void;
}

/** The native AES-CM transform for these session keys, or undefined when the addon is not in use. */
export function createNativeAesCmHmacSha1(
  sessionKey: Uint8Array,
  sessionSalt: Uint8Array,
  authKey: Uint8Array,
): NativeAesCmHmacSha1 | undefined {
  if (addon === undefined) return undefined;
  const a = addon;
  const s = a.cmCreate(sessionKey, sessionSalt, authKey);
  return {
    protect: (ssrc, index, rtp, headerLengthBytes, out, tagOut) =>
      a.cmProtect(s, ssrc, index, rtp, headerLengthBytes, out, tagOut),
    unprotect: (ssrc, index, authenticated, headerLengthBytes, tag, out) =>
      a.cmUnprotect(s, ssrc, index, authenticated, headerLengthBytes, tag, out),
    free: () => a.free(s),
  };
}

export const GCM_IV_BYTES = 12; // RFC 7714 §8.1
export const GCM_TAG_BYTES = 16; // RFC 7714 §8.1, the 16-octet authentication tag

/** AES-GCM with one key (16, 24 or 32 bytes), one message per call. */
export interface NativeAesGcm {
  /** Encrypts plaintext into out (same length) and writes the 16-byte tag into tagOut. Throws on misuse. */
  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, tagOut: Uint8Array): void;
  /** Verifies the tag (inside OpenSSL, constant time) and decrypts into out; false on failure (out is garbage). */
  open(iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean;
  /** Cleanses and frees the key in the addon; later calls throw. */
  free(): void;
}

/** The native AES-GCM for this key, or undefined when the addon is not in use (use node:crypto then). */
export function createNativeAesGcm(key: Uint8Array): NativeAesGcm | undefined {
  if (addon === undefined) return undefined;
  const a = addon;
  const s = a.gcmCreate(key);
  return {
    seal: (iv, aad, plaintext, out, tagOut) => {
      a.gcmSeal(s, iv, aad, plaintext, out, tagOut);
    },
    open: (iv, aad, ciphertext, tag, out) => a.gcmOpen(s, iv, aad, ciphertext, tag, out),
    free: () => a.free(s),
  };
}

/** One-shot AES-GCM key wraps in the layout of src/crypto/aead-wrap.ts: nonce(12) ‖ ciphertext ‖ tag(16). */
export interface NativeAesGcmOnce {
  /** Encrypts plaintext into `wrapped`, whose first 12 bytes already hold the nonce. Throws on misuse. */
  wrap(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, wrapped: Uint8Array): void;
  /** Verifies the tag (inside OpenSSL, constant time) and decrypts into `out`; false on failure (`out` is garbage). */
  unwrap(key: Uint8Array, aad: Uint8Array, wrapped: Uint8Array, out: Uint8Array): boolean;
}

/** The addon's one-shot AES-GCM key wrap, or undefined when the addon is not in use (use node:crypto then). */
export function nativeAesGcmOnce(): NativeAesGcmOnce | undefined {
  if (addon === undefined) return undefined;
  const a = addon;
  return {
    wrap: (key, aad, plaintext, wrapped) => {
      a.gcmWrapOnce(key, aad, plaintext, wrapped);
    },
    unwrap: (key, aad, wrapped, out) => a.gcmUnwrapOnce(key, aad, wrapped, out),
  };
}
