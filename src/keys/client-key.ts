// The client key UK (32 bytes, issued at enrolment, kept in the client's credentials file) and the keys derived
// from it. UK itself never keys anything directly: HKDF-SHA256 (RFC 5869, empty salt) separates its two uses.
import { hkdfSha256 } from '../crypto/mac.js';
import { randomBytes } from '../crypto/random.js';

export const CLIENT_KEY_LENGTH_BYTES = 32;
/** HKDF info for the request MAC key (HMAC-SHA256 over each HTTP request, src/keys/request-auth.ts). */
export const INFO_REQUEST_MAC = 'keycast/v1/request-mac';
/** HKDF info for the key-encryption key under which the server wraps keys for this client. */
export const INFO_KEY_WRAP = 'keycast/v1/key-wrap';

export const CLIENT_ROLES = ['receiver', 'sender'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

function checkUk(uk: Uint8Array): void {
  if (uk.length !== CLIENT_KEY_LENGTH_BYTES) {
    throw new RangeError(`client key must be ${CLIENT_KEY_LENGTH_BYTES} bytes, got ${uk.length}`);
  }
}

export function generateClientKey(): Uint8Array {
  return randomBytes(CLIENT_KEY_LENGTH_BYTES);
}

/** MAC key = HKDF(UK, info "keycast/v1/request-mac"), 32 bytes. */
export function deriveRequestMacKey(uk: Uint8Array): Uint8Array {
  checkUk(uk);
  return hkdfSha256(uk, INFO_REQUEST_MAC, 32);
}

/** Wrap key = HKDF(UK, info "keycast/v1/key-wrap"), 32 bytes (AES-256-GCM). */
export function deriveClientWrapKey(uk: Uint8Array): Uint8Array {
  checkUk(uk);
  return hkdfSha256(uk, INFO_KEY_WRAP, 32);
}
