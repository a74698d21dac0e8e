// Profile AEAD_AES_256_GCM (RFC 7714 §14.2): AES-256 in Galois/Counter Mode, the 16-byte AEAD tag inside the
// authenticated portion and no SRTP auth tag, 256-bit master key, 96-bit master salt. SRTCP per RFC 7714 §9.

import {
  AeadAesGcmSrtcpTransform,
  AeadAesGcmTransform,
  deriveSrtcpGcmKeys,
  deriveSrtpGcmKeys,
} from './aead-aes-gcm.js';
import type { SrtcpTransform } from './srtcp-transform.js';
import { SRTP_MAX_PACKETS_PER_KEY, checkMasterKeyLengths } from './srtp-transform.js';
import type { SrtpProfile, SrtpTransform } from './srtp-transform.js';

export const AEAD_AES_256_GCM = {
  name: 'AEAD_AES_256_GCM',
  masterKeyBytes: 32,
  masterSaltBytes: 12,
  authTagBytes: 0,
  cipherOverheadBytes: 16,
  maxPacketsPerKey: SRTP_MAX_PACKETS_PER_KEY,
  createTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtpTransform {
    checkMasterKeyLengths(AEAD_AES_256_GCM, masterKey, masterSalt);
    return new AeadAesGcmTransform(deriveSrtpGcmKeys(masterKey, masterSalt));
  },
  createSrtcpTransform(masterKey: Uint8Array, masterSalt: Uint8Array): SrtcpTransform {
    checkMasterKeyLengths(AEAD_AES_256_GCM, masterKey, masterSalt);
    return new AeadAesGcmSrtcpTransform(deriveSrtcpGcmKeys(masterKey, masterSalt));
  },
} as const satisfies SrtpProfile;
