// Profile AES_256_CM_HMAC_SHA1_80 (RFC 6188 §3, §6): AES-256 in counter mode, HMAC-SHA1 with an 80-bit tag,
// 256-bit master key, 112-bit master salt. The KDF is the RFC 3711 AES-CM PRF keyed with AES-256 (RFC 6188 §4.1),
// which deriveSrtpSessionKey picks from the master key's length. No SRTCP transform here yet.

import { AesCmHmacSha1Transform } from './aes-cm-hmac-sha1.js';
import { SRTP_MAX_PACKETS_PER_KEY, checkMasterKeyLengths } from './srtp-transform.js';
import type { SrtpProfile, SrtpTransform } from './srtp-transform.js';

export const AES_256_CM_HMAC_SHA1_80 = {
  name: 'AES_256_CM_HMAC_SHA1_80',
  masterKeyBytes: 32,
  masterSaltBytes: 14,
  authTagBytes: 10,
  cipherOverheadBytes: 0,
  maxPacketsPerKey: SRTP_MAX_PACKETS_PER_KEY,
  createTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtpTransform {
    checkMasterKeyLengths(AES_256_CM_HMAC_SHA1_80, masterKey, masterSalt);
    return new AesCmHmacSha1Transform(masterKey, masterSalt, {
      sessionKeyBytes: 32,
      sessionSaltBytes: 14,
      authTagBytes: 10,
    });
  },
} as const satisfies SrtpProfile;
