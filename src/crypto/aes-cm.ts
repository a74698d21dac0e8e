// AES in counter mode as SRTP uses it (RFC 3711 §4.1.1), the AES-CM PRF and the session key
// derivation (RFC 3711 §4.3.1, §4.3.3) with key derivation rate 0: session keys are derived once
// per master key and never refreshed.

import { createCipheriv } from 'node:crypto';

export const LABEL_RTP_ENCRYPTION = 0x00; // RFC 3711 §4.3.1
export const LABEL_RTP_AUTHENTICATION = 0x01; // RFC 3711 §4.3.1
export const LABEL_RTP_SALT = 0x02; // RFC 3711 §4.3.1
export const LABEL_RTCP_ENCRYPTION = 0x03; // RFC 3711 §4.3.2
export const LABEL_RTCP_AUTHENTICATION = 0x04; // RFC 3711 §4.3.2
export const LABEL_RTCP_SALT = 0x05; // RFC 3711 §4.3.2

export const AES_BLOCK_BYTES = 16;
export const AES_CM_SALT_BYTES = 14; // RFC 3711 §4.1.1, n_s = 112
/** The 16-bit block counter of RFC 3711 §4.1.1 allows 2^16 blocks per IV. */
export const AES_CM_MAX_KEYSTREAM_BYTES = 2 ** 16 * AES_BLOCK_BYTES;

const CTR_CIPHER_BY_KEY_BYTES: Readonly<Record<number, string>> = {
  16: 'aes-128-ctr',
  24: 'aes-192-ctr',
  32: 'aes-256-ctr',
};

/** The node:crypto CTR cipher for an AES key of this length. Throws on a length AES does not have. */
export function aesCtrCipherName(keyBytes: number): string {
  const name = CTR_CIPHER_BY_KEY_BYTES[keyBytes];
  if (name === undefined) throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${keyBytes}`);
  return name;
}

/**
 * The AES-CM counter block for one packet (RFC 3711 §4.1.1):
 *
 *   IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)
 *
 *   byte  0 ...  3 |  4 ...  7 |  8 ... 13 | 14 15
 *         salt     |  salt^SSRC|  salt^i   | 00 00
 *
 * `index` is the 48-bit packet index i; its high 16 bits are taken by division, never by a shift.
 */
export function writeAesCmIv(sessionSalt: Uint8Array, ssrc: number, index: number, out: Uint8Array): void {
  if (sessionSalt.byteLength !== AES_CM_SALT_BYTES) {
    throw new RangeError(`AES-CM session salt must be 14 bytes, got ${sessionSalt.byteLength}`);
  }
  if (out.byteLength !== AES_BLOCK_BYTES)
    throw new RangeError(`AES-CM IV must be 16 bytes, got ${out.byteLength}`);
  out.set(sessionSalt, 0);
  out[14] = 0;
  out[15] = 0;
  const view = new DataView(out.buffer, out.byteOffset, AES_BLOCK_BYTES);
  view.setUint32(4, (view.getUint32(4) ^ ssrc) >>> 0);
  const indexHigh = Math.floor(index / 0x1_0000_0000); // bits 47..32
  const indexLow = index % 0x1_0000_0000; // bits 31..0
  view.setUint16(8, view.getUint16(8) ^ indexHigh);
  view.setUint32(10, (view.getUint32(10) ^ indexLow) >>> 0);
}

/** `lengthBytes` of AES-CM keystream from counter block `iv` (at most 2^16 blocks). */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, lengthBytes: number): Uint8Array {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 0 || lengthBytes > AES_CM_MAX_KEYSTREAM_BYTES) {
    throw new RangeError(
      `AES-CM keystream length must be 0..${AES_CM_MAX_KEYSTREAM_BYTES}, got ${lengthBytes}`,
    );
  }
  const cipher = createCipheriv(aesCtrCipherName(key.byteLength), key, iv);
  const out = cipher.update(new Uint8Array(lengthBytes));
  cipher.final();
  return out;
}

/**
 * The AES-CM PRF and key derivation of RFC 3711 §4.3.1 and §4.3.3, with kdr = 0 (so r = 0):
 *
 *   key_id = label || r                (8 + 48 bits)
 *   x      = key_id XOR master_salt     (aligned at the least significant bit)
 *   out    = first n bits of AES-CM(master_key, IV = x * 2^16)
 *
 * With a 112-bit salt the label lands on byte 7 of x.
 */
export function deriveSrtpSessionKey(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  lengthBytes: number,
): Uint8Array {
  if (masterSalt.byteLength !== AES_CM_SALT_BYTES) {
    throw new RangeError(`AES-CM PRF: master salt must be 14 bytes, got ${masterSalt.byteLength}`);
  }
  if (!Number.isInteger(label) || label < 0 || label > 0xff) {
    throw new RangeError(`AES-CM PRF: label must be one byte, got ${label}`);
  }
  const iv = new Uint8Array(AES_BLOCK_BYTES);
  iv.set(masterSalt, 0);
  iv[7] = iv[7]! ^ label;
  return aesCmKeystream(masterKey, iv, lengthBytes);
}
