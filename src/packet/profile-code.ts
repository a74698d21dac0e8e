// SRTP protection profiles as they travel in key messages: a one-byte code, the IANA "DTLS-SRTP Protection
// Profiles" value (RFC 5764 §4.1.2, RFC 7714 §14.2), which fits in a byte for every profile keycast names; codes
// 0x80-0xff are keycast's own, for profiles IANA gave no DTLS-SRTP value (AES_256_CM_HMAC_SHA1_80). The key
// lengths are part of the wire format because a wrapped content key is masterKey ‖ masterSalt. Which profiles are
// implemented is src/crypto/srtp-profiles.ts's business; the names are the same.

export const KEY_MESSAGE_PROFILES = {
  AES_CM_128_HMAC_SHA1_80: { code: 0x01, masterKeyLengthBytes: 16, masterSaltLengthBytes: 14 }, // RFC 5764 §4.1.2
  AES_CM_128_HMAC_SHA1_32: { code: 0x02, masterKeyLengthBytes: 16, masterSaltLengthBytes: 14 }, // RFC 5764 §4.1.2
  AEAD_AES_128_GCM: { code: 0x07, masterKeyLengthBytes: 16, masterSaltLengthBytes: 12 }, // RFC 7714 §14.2
  AEAD_AES_256_GCM: { code: 0x08, masterKeyLengthBytes: 32, masterSaltLengthBytes: 12 }, // RFC 7714 §14.2
  // RFC 6188 registers no DTLS-SRTP value for this profile (SDES only): 0x80 is keycast's own, from the upper half of
  // the byte that keycast keeps for profiles without an IANA value (docs/srtp-suites.md).
  AES_256_CM_HMAC_SHA1_80: { code: 0x80, masterKeyLengthBytes: 32, masterSaltLengthBytes: 14 },
} as const;

export type KeyMessageProfile = keyof typeof KEY_MESSAGE_PROFILES;

export const KEY_MESSAGE_PROFILE_NAMES = Object.keys(KEY_MESSAGE_PROFILES) as readonly KeyMessageProfile[];

export const DEFAULT_PROFILE: KeyMessageProfile = 'AES_CM_128_HMAC_SHA1_80';

export function isKeyMessageProfile(s: string): s is KeyMessageProfile {
  return Object.hasOwn(KEY_MESSAGE_PROFILES, s);
}

/** The profile name for a wire code, or undefined for a code keycast does not know. */
export function keyMessageProfileFromCode(code: number): KeyMessageProfile | undefined {
  return KEY_MESSAGE_PROFILE_NAMES.find((n) => KEY_MESSAGE_PROFILES[n].code === code);
}
