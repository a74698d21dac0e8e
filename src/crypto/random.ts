// Randomness for keys, nonces and request ids. The only source of randomness outside SRTP transforms.
import { randomBytes as nodeRandomBytes, randomUUID } from 'node:crypto';

/**
 * Small requests are served from a pool of CSPRNG output fetched 4 KiB at a time: one call into node:crypto costs
 * about 3 µs whatever the size, and a group rekey needs a fresh key and a nonce per wrap, tens of thousands of
 * them (src/keys/group/). Bytes handed out are copied and zeroed in the pool at once, so the pool never holds a
 * byte that was given to anyone.
 */
const POOL_BYTES = 4096;
const POOL_MAX_REQUEST_BYTES = 64;
let pool = new Uint8Array(0);
let poolUsed = 0;

/** Fills `out` (or its first `lengthBytes`) with bytes from the operating system's CSPRNG (through the pool up to 64). */
export function fillRandom(out: Uint8Array, lengthBytes = out.byteLength): void {
  const n = lengthBytes;
  if (!Number.isInteger(n) || n < 0 || n > out.byteLength)
    throw new RangeError(`fillRandom: lengthBytes must be an integer in 0..${out.byteLength}, got ${n}`);
  if (n > POOL_MAX_REQUEST_BYTES) {
    out.set(nodeRandomBytes(n));
    return;
  }
  if (poolUsed + n > pool.byteLength) {
    pool.fill(0);
    const b = nodeRandomBytes(POOL_BYTES);
    pool = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    poolUsed = 0;
  }
  for (let i = 0; i < n; i++) {
    out[i] = pool[poolUsed + i]!;
    pool[poolUsed + i] = 0;
  }
  poolUsed += n;
}

/** `lengthBytes` bytes from the operating system's CSPRNG, as a fresh Uint8Array of its own. */
export function randomBytes(lengthBytes: number): Uint8Array {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 0) {
    throw new RangeError(`randomBytes: lengthBytes must be a non-negative integer, got ${lengthBytes}`);
  }
  const out = new Uint8Array(lengthBytes);
  fillRandom(out);
  return out;
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
