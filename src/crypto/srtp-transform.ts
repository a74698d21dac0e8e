// The one interface every SRTP protection profile implements. src/srtp/ sees only this: it never
// names an algorithm, and a new profile (AEAD_AES_128_GCM per RFC 7714, AES_256_CM per RFC 6188)
// is a new file in src/crypto/ plus one line in srtp-profiles.ts.
//
// Packet layout the transforms agree on (RFC 3711 §3.1, RFC 7714 §8.1):
//
//   | RTP header | encrypted payload | cipher overhead | MKI | auth tag |
//   |<-------- authenticated portion (what the tag or AEAD covers) ->|
//
// AES-CM + HMAC-SHA1: cipher overhead 0, auth tag 10 or 4 bytes after the MKI.
// AEAD (GCM): the 16-byte AEAD tag is the cipher overhead, and the auth tag after the MKI is 0 bytes.

import type { SrtcpTransform } from './srtcp-transform.js';

export interface SrtpTransform {
  /** Bytes the cipher appends to the payload inside the authenticated portion (an AEAD tag). */
  readonly cipherOverheadBytes: number;
  /** Bytes of the SRTP authentication tag after the MKI (RFC 3711 §3.1). */
  readonly authTagBytes: number;
  /**
   * Protects one RTP packet. `rtp` is header + payload (+ padding); `headerLengthBytes` ends the header
   * (CSRCs and extension included), which stays in the clear. Writes header and ciphertext into
   * `out` (exactly rtp.length + cipherOverheadBytes bytes) and the tag into `tagOut`
   * (exactly authTagBytes bytes). `index` is the 48-bit SRTP packet index (RFC 3711 §3.3.1).
   */
  protect(
    rtp: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void;
  /**
   * Verifies, then decrypts. `authenticated` is header + ciphertext (the authenticated portion),
   * `tag` the bytes after the MKI. On success writes header + plaintext into `out` (exactly
   * authenticated.length - cipherOverheadBytes bytes) and returns true. On failure returns false,
   * reads nothing more, and `out` is garbage the caller must drop. Never writes to its inputs.
   */
  unprotect(
    authenticated: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /** Overwrites the session keys with zeros; any later protect/unprotect throws. */
  zeroize(): void;
}

/** A protection profile: its sizes and a factory that derives session keys once per master key. */
export interface SrtpProfile {
  readonly name: string;
  readonly masterKeyBytes: number;
  readonly masterSaltBytes: number;
  readonly authTagBytes: number;
  readonly cipherOverheadBytes: number;
  /** RFC 3711 §9.2: a master key protects at most 2^48 SRTP packets. */
  readonly maxPacketsPerKey: number;
  /** Throws `<profile>: masterKey must be N bytes, got M` (or masterSalt) on wrong lengths. */
  createTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtpTransform;
  /** The SRTCP transform for the same master key (RFC 3711 §4.3.2 labels 3–5; RFC 7714 §9). Same length checks. */
  createSrtcpTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtcpTransform;
}

/** RFC 3711 §9.2: 2^48 packets per master key. */
export const SRTP_MAX_PACKETS_PER_KEY = 2 ** 48;

/** The profile's length check, with the exact message every profile throws. */
export function checkMasterKeyLengths(
  profile: Pick<SrtpProfile, 'name' | 'masterKeyBytes' | 'masterSaltBytes'>,
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
): void {
  if (masterKey.byteLength !== profile.masterKeyBytes) {
    throw new RangeError(
      `${profile.name}: masterKey must be ${profile.masterKeyBytes} bytes, got ${masterKey.byteLength}`,
    );
  }
  if (masterSalt.byteLength !== profile.masterSaltBytes) {
    throw new RangeError(
      `${profile.name}: masterSalt must be ${profile.masterSaltBytes} bytes, got ${masterSalt.byteLength}`,
    );
  }
}
