// Profile AES_CM_128_HMAC_SHA1_80 (RFC 4568 §6.2; the RFC 3711 §5 default transforms): AES-128 in counter mode,
// HMAC-SHA1 with an 80-bit tag, 128-bit master key, 112-bit master salt.

import { AesCmHmacSha1Transform } from './aes-cm-hmac-sha1.js';
import { AesCmHmacSha1SrtcpTransform } from './aes-cm-hmac-sha1-srtcp.js';
import type { SrtcpTransform } from './srtcp-transform.js';
import { SRTP_MAX_PACKETS_PER_KEY, checkMasterKeyLengths } from './srtp-transform.js';
import type { SrtpProfile, SrtpTransform } from './srtp-transform.js';

export const AES_CM_128_HMAC_SHA1_80 = {
  name: 'AES_CM_128_HMAC_SHA1_80',
  masterKeyBytes: 16,
  masterSaltBytes: 14,
  authTagBytes: 10,
  cipherOverheadBytes: 0,
  maxPacketsPerKey: SRTP_MAX_PACKETS_PER_KEY,
  createTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtpTransform {
    checkMasterKeyLengths(AES_CM_128_HMAC_SHA1_80, masterKey, masterSalt);
    return new AesCmHmacSha1Transform(masterKey, masterSalt, {
      sessionKeyBytes: 16,
      sessionSaltBytes: 14,
      authTagBytes: 10,
    });
  },
  /** SRTCP: the same cipher, and an 80-bit tag for this profile too (RFC 4568 §6.2). */
  createSrtcpTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtcpTransform {
    checkMasterKeyLengths(AES_CM_128_HMAC_SHA1_80, masterKey, masterSalt);
    return new AesCmHmacSha1SrtcpTransform(masterKey, masterSalt, { sessionKeyBytes: 16 });
  },
} as const satisfies SrtpProfile;
