// AES-GCM as SRTP and SRTCP use it (RFC 7714): the per-packet seal/open primitive, the 12-byte IVs of §8.1 and
// §9.1, and the session key derivation of §11 (the RFC 3711 AES-CM KDF with the 96-bit master salt).
//
// The primitive is one small interface (`GcmPrimitive`) so that a faster implementation (a native addon calling
// OpenSSL without node:crypto's per-call cost) can replace `NODE_GCM` without touching the transforms.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AES_CM_SALT_BYTES, deriveSrtpSessionKey } from './aes-cm.js';

export const GCM_TAG_BYTES = 16; // RFC 7714 §10: the full 128-bit tag, never truncated
export const GCM_SALT_BYTES = 12; // RFC 7714 §8.1: the 96-bit session and master salt
export const GCM_IV_BYTES = 12; // RFC 7714 §8.1

/**
 * One AES-GCM operation on one packet. `key` is 16 or 32 bytes, `iv` 12. seal writes exactly plaintext.length
 * bytes of ciphertext into `out` and 16 into `tagOut`. open verifies `tag` (any length other than 16 fails) and
 * writes plaintext into `out` (exactly ciphertext.length bytes); false on any failure, never throws on bad input,
 * and `out` is then garbage.
 */
export interface GcmPrimitive {
  seal(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void;
  open(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
}

const GCM_CIPHER_BY_KEY_BYTES: Readonly<Record<number, 'aes-128-gcm' | 'aes-256-gcm'>> = {
  16: 'aes-128-gcm',
  32: 'aes-256-gcm',
};

/** The node:crypto GCM cipher for a key of this length; throws for any length but 16 and 32. */
export function aesGcmCipherName(keyBytes: number): 'aes-128-gcm' | 'aes-256-gcm' {
  const name = GCM_CIPHER_BY_KEY_BYTES[keyBytes];
  if (name === undefined) throw new RangeError(`AES-GCM key must be 16 or 32 bytes, got ${keyBytes}`);
  return name;
}

/** GCM through node:crypto: one cipher object per packet. */
export const NODE_GCM: GcmPrimitive = {
  seal(key, iv, aad, plaintext, out, tagOut) {
    const cipher = createCipheriv(aesGcmCipherName(key.byteLength), key, iv, {
      authTagLength: GCM_TAG_BYTES,
    });
    cipher.setAAD(aad);
    out.set(cipher.update(plaintext), 0);
    cipher.final(); // GCM is a stream mode: final() adds no bytes
    tagOut.set(cipher.getAuthTag(), 0);
  },
  open(key, iv, aad, ciphertext, tag, out) {
    // node accepts shorter GCM tags (a truncated tag is a forgery aid): refuse anything but the full 16 bytes.
    if (tag.byteLength !== GCM_TAG_BYTES) return false;
    const decipher = createDecipheriv(aesGcmCipherName(key.byteLength), key, iv, {
      authTagLength: GCM_TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    out.set(decipher.update(ciphertext), 0);
    try {
      decipher.final(); // throws "Unsupported state or unable to authenticate data" on a tag mismatch
      return true;
    } catch {
      return false;
    }
  },
};

/**
 * The SRTP IV of RFC 7714 §8.1:
 *
 *     0  1  2  3  4  5  6  7  8  9 10 11
 *   +--+--+--+--+--+--+--+--+--+--+--+--+
 *   |00|00|    SSRC   |     ROC   | SEQ |---+
 *   +--+--+--+--+--+--+--+--+--+--+--+--+   |  IV = that XOR the 12-byte session salt
 *
 * ROC ‖ SEQ is the 48-bit packet index; its high 16 bits are taken by division, never by a shift.
 */
export function writeSrtpGcmIv(sessionSalt: Uint8Array, ssrc: number, index: number, out: Uint8Array): void {
  writeGcmIv(sessionSalt, ssrc, Math.floor(index / 0x1_0000_0000), index % 0x1_0000_0000, out);
}

/**
 * The SRTCP IV of RFC 7714 §9.1: 00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ SRTCP index (31 bits), XOR the session salt.
 */
export function writeSrtcpGcmIv(sessionSalt: Uint8Array, ssrc: number, index: number, out: Uint8Array): void {
  writeGcmIv(sessionSalt, ssrc, 0, index, out);
}

function writeGcmIv(salt: Uint8Array, ssrc: number, high16: number, low32: number, out: Uint8Array): void {
  if (salt.byteLength !== GCM_SALT_BYTES)
    throw new RangeError(`AES-GCM session salt must be 12 bytes, got ${salt.byteLength}`);
  if (out.byteLength !== GCM_IV_BYTES)
    throw new RangeError(`AES-GCM IV must be 12 bytes, got ${out.byteLength}`);
  // Byte by byte, big-endian: once per packet, so no DataView objects to allocate.
  out[0] = salt[0]!;
  out[1] = salt[1]!;
  out[2] = salt[2]! ^ (ssrc >>> 24);
  out[3] = salt[3]! ^ ((ssrc >>> 16) & 0xff);
  out[4] = salt[4]! ^ ((ssrc >>> 8) & 0xff);
  out[5] = salt[5]! ^ (ssrc & 0xff);
  out[6] = salt[6]! ^ ((high16 >>> 8) & 0xff);
  out[7] = salt[7]! ^ (high16 & 0xff);
  out[8] = salt[8]! ^ (low32 >>> 24);
  out[9] = salt[9]! ^ ((low32 >>> 16) & 0xff);
  out[10] = salt[10]! ^ ((low32 >>> 8) & 0xff);
  out[11] = salt[11]! ^ (low32 & 0xff);
}

/** An AEAD session key and salt (RFC 7714 §11): what one direction (SRTP or SRTCP) encrypts with. */
export interface GcmSessionKeys {
  readonly key: Uint8Array;
  readonly salt: Uint8Array;
}

/**
 * RFC 7714 §11: the AES-CM PRF of RFC 3711 §4.3.3 keyed with the master key (AES-128 or AES-256), the 96-bit
 * master salt in place of the 112-bit one. As libsrtp and GStreamer do, the 12 salt bytes fill the first 12 of the
 * PRF's 14-byte salt field and the last two are zero, so the label still lands on byte 7.
 */
export function deriveGcmSessionKeys(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  labels: { readonly encryption: number; readonly salt: number },
): GcmSessionKeys {
  aesGcmCipherName(masterKey.byteLength);
  if (masterSalt.byteLength !== GCM_SALT_BYTES) {
    throw new RangeError(`AES-GCM master salt must be 12 bytes, got ${masterSalt.byteLength}`);
  }
  const prfSalt = new Uint8Array(AES_CM_SALT_BYTES);
  prfSalt.set(masterSalt, 0);
  return {
    key: deriveSrtpSessionKey(masterKey, prfSalt, labels.encryption, masterKey.byteLength),
    salt: deriveSrtpSessionKey(masterKey, prfSalt, labels.salt, GCM_SALT_BYTES),
  };
}
