// The registry of SRTP protection profiles. Adding a profile means a new file in src/crypto/ and one entry here
// (and its wire code in src/packet/profile-code.ts); src/srtp/ looks profiles up by name only.
// docs/srtp-suites.md compares them: AES_CM_128_HMAC_SHA1_80 is the default, AEAD_AES_128_GCM the recommendation.

import { AEAD_AES_128_GCM } from './aead-aes-128-gcm.js';
import { AEAD_AES_256_GCM } from './aead-aes-256-gcm.js';
import { AES_256_CM_HMAC_SHA1_80 } from './aes-256-cm-hmac-sha1-80.js';
import { AES_CM_128_HMAC_SHA1_32 } from './aes-cm-128-hmac-sha1-32.js';
import { AES_CM_128_HMAC_SHA1_80 } from './aes-cm-128-hmac-sha1-80.js';
import type { SrtpProfile } from './srtp-transform.js';

export type { SrtpProfile, SrtpTransform } from './srtp-transform.js';

export const SRTP_PROFILES = {
  AES_CM_128_HMAC_SHA1_80,
  AES_CM_128_HMAC_SHA1_32,
  AES_256_CM_HMAC_SHA1_80,
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
} as const satisfies Record<string, SrtpProfile>;

export type SrtpProfileName = keyof typeof SRTP_PROFILES;

export const SRTP_PROFILE_NAMES = Object.keys(SRTP_PROFILES) as readonly SrtpProfileName[];

export function isSrtpProfileName(name: string): name is SrtpProfileName {
  return Object.hasOwn(SRTP_PROFILES, name);
}

/** The profile called `name`; throws `Unknown SRTP profile: <name>` for any other string. */
export function srtpProfile(name: string): SrtpProfile {
  if (!isSrtpProfileName(name)) throw new RangeError(`Unknown SRTP profile: ${name}`);
  return SRTP_PROFILES[name];
}
