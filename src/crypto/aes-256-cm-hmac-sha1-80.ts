// Profile AES_256_CM_HMAC_SHA1_80 (RFC 6188 §3, §6): AES-256 in counter mode, HMAC-SHA1 with an 80-bit tag,
// 256-bit master key, 112-bit master salt. The KDF is the RFC 3711 AES-CM PRF keyed with AES-256 (RFC 6188 §4.1),
// which deriveSrtpSessionKey picks from the master key's length. SRTCP: the same cipher with the KDF's SRTCP
// labels and an 80-bit tag (RFC 6188 §6 refers to RFC 3711 §3.4).

import { AesCmHmacSha1Transform } from './aes-cm-hmac-sha1.js';
import { AesCmHmacSha1SrtcpTransform } from './aes-cm-hmac-sha1-srtcp.js';
import type { SrtcpTransform } from './srtcp-transform.js';
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
  createSrtcpTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtcpTransform {
    checkMasterKeyLengths(AES_256_CM_HMAC_SHA1_80, masterKey, masterSalt);
    return new AesCmHmacSha1SrtcpTransform(masterKey, masterSalt, { sessionKeyBytes: 32 });
  },
} as const satisfies SrtpProfile;
