// Key wrap with an AEAD: AES-256-GCM, 12-byte random nonce, 16-byte tag.
//
//   wrapped = nonce (12) ‖ ciphertext (= plaintext length) ‖ tag (16)
//
// The associated data names what the key is and whom it is for (see src/keys/aad.ts), so a wrapped key cannot be
// moved to another context (another client, programme, segment or key id) without failing authentication.
//
// With the native addon (src/crypto/native.ts) a wrap is one call into OpenSSL, about 1 µs; through node:crypto it
// is five calls, about 7 µs. A group rekey at a million members makes tens of thousands (src/keys/group/).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { OutputSlab } from '../packet/output-slab.js';
import { nativeAesGcmOnce } from './native.js';
import { fillRandom } from './random.js';

const native = nativeAesGcmOnce();
/** Wrapped keys (ciphertext, public) are cut from one slab: a group rekey makes tens of thousands of them. */
const wrapSlab = new OutputSlab();

export const WRAP_KEY_LENGTH_BYTES = 32; // AES-256
export const WRAP_NONCE_LENGTH_BYTES = 12; // NIST SP 800-38D §8.2.2 (random IV)
export const WRAP_TAG_LENGTH_BYTES = 16;
export const WRAP_OVERHEAD_BYTES = WRAP_NONCE_LENGTH_BYTES + WRAP_TAG_LENGTH_BYTES;

export type UnwrapResult =
  | { readonly ok: true; readonly key: Uint8Array }
  | { readonly ok: false; readonly reason: 'too_short' | 'auth_fail' };

function checkKek(kek: Uint8Array, fn: string): void {
  if (kek.length !== WRAP_KEY_LENGTH_BYTES) {
    throw new RangeError(
      `${fn}: key-encryption key must be ${WRAP_KEY_LENGTH_BYTES} bytes, got ${kek.length}`,
    );
  }
}

/** Wrap `plaintext` (a key) under `kek` with associated data `aad`. Returns nonce‖ciphertext‖tag. */
export function wrapKey(kek: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKek(kek, 'wrapKey');
  if (plaintext.length === 0) throw new RangeError('wrapKey: plaintext must not be empty');
  const out = wrapSlab.take(WRAP_OVERHEAD_BYTES + plaintext.length);
  fillRandom(out, WRAP_NONCE_LENGTH_BYTES);
  if (native !== undefined) {
    native.wrap(kek, aad, plaintext, out);
    return out;
  }
  const nonce = out.subarray(0, WRAP_NONCE_LENGTH_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG_LENGTH_BYTES });
  cipher.setAAD(aad);
  const ct = cipher.update(plaintext);
  const fin = cipher.final();
  const tag = cipher.getAuthTag();
  out.set(ct, WRAP_NONCE_LENGTH_BYTES);
  out.set(fin, WRAP_NONCE_LENGTH_BYTES + ct.length);
  out.set(tag, out.length - WRAP_TAG_LENGTH_BYTES);
  return out;
}

/**
 * Unwrap nonce‖ciphertext‖tag under `kek` with associated data `aad`. Untrusted input: never throws on bad bytes;
 * a wrong key, wrong AAD or any altered byte gives `auth_fail`.
 */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array, aad: Uint8Array): UnwrapResult {
  checkKek(kek, 'unwrapKey');
  if (wrapped.length <= WRAP_OVERHEAD_BYTES) return { ok: false, reason: 'too_short' };
  if (native !== undefined) {
    const key = new Uint8Array(wrapped.length - WRAP_OVERHEAD_BYTES);
    if (native.unwrap(kek, aad, wrapped, key)) return { ok: true, key };
    key.fill(0); // unauthenticated plaintext: never handed on
    return { ok: false, reason: 'auth_fail' };
  }
  const nonce = wrapped.subarray(0, WRAP_NONCE_LENGTH_BYTES);
  const ct = wrapped.subarray(WRAP_NONCE_LENGTH_BYTES, wrapped.length - WRAP_TAG_LENGTH_BYTES);
  const tag = wrapped.subarray(wrapped.length - WRAP_TAG_LENGTH_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG_LENGTH_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const pt = decipher.update(ct);
    const fin = decipher.final();
    const key = new Uint8Array(pt.length + fin.length);
    key.set(pt, 0);
    key.set(fin, pt.length);
    return { ok: true, key };
  } catch {
    return { ok: false, reason: 'auth_fail' };
  }
}
