// Randomness for keys, nonces and request ids. The only source of randomness outside SRTP transforms.
import { randomBytes as nodeRandomBytes, randomUUID } from 'node:crypto';

/** `lengthBytes` bytes from the operating system's CSPRNG, as a fresh (unpooled) Uint8Array. */
export function randomBytes(lengthBytes: number): Uint8Array {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 0) {
    throw new RangeError(`randomBytes: lengthBytes must be a non-negative integer, got ${lengthBytes}`);
  }
  const b = nodeRandomBytes(lengthBytes);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** `lengthBytes` random bytes as lower-case hex. */
export function randomHex(lengthBytes: number): string {
  return Buffer.from(randomBytes(lengthBytes)).toString('hex');
}

/** A random RFC 9562 version-4 UUID, used as a request id. */
export function randomRequestId(): string {
  return randomUUID();
}

/** Overwrite a key buffer with zeros once it is retired (STYLE.md "Zeroize retired keys"). */
export function zeroize(key: Uint8Array): void {
  key.fill(0);
}
