// Hashing, HMAC-SHA256, HKDF-SHA256 (RFC 5869) and constant-time comparison.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const SHA256_LENGTH_BYTES = 32;

function view(b: Buffer | ArrayBuffer): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** SHA-256 of `data` (a string is hashed as UTF-8). */
export function sha256(data: Uint8Array | string): Uint8Array {
  return view(createHash('sha256').update(data).digest());
}

/** SHA-256 of `data` as lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** HMAC-SHA256 (RFC 2104) of `data` under `key`; a string is MACed as UTF-8. */
export function hmacSha256(key: Uint8Array, data: Uint8Array | string): Uint8Array {
  if (key.length === 0) throw new RangeError('hmacSha256: key must not be empty');
  return view(createHmac('sha256', key).update(data).digest());
}

/**
 * HKDF-SHA256 (RFC 5869): extract with `salt` (empty = 32 zero bytes, §2.2), expand with `info` to `lengthBytes`.
 */
export function hkdfSha256(
  ikm: Uint8Array,
  info: string | Uint8Array,
  lengthBytes: number,
  salt: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (ikm.length === 0) throw new RangeError('hkdfSha256: input keying material must not be empty');
  if (!Number.isInteger(lengthBytes) || lengthBytes < 1 || lengthBytes > 255 * SHA256_LENGTH_BYTES) {
    throw new RangeError(
      `hkdfSha256: lengthBytes must be 1..${255 * SHA256_LENGTH_BYTES}, got ${lengthBytes}`,
    );
  }
  const infoBytes = typeof info === 'string' ? Buffer.from(info, 'utf8') : info;
  return view(hkdfSync('sha256', ikm, salt, infoBytes, lengthBytes));
}

/**
 * Constant-time equality for MACs and tags: false at once when the lengths differ (the length is not secret),
 * otherwise `timingSafeEqual`.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
