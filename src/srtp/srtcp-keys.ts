// The SRTCP side of a master key: the same key id and MKI as the stream's SRTP packets (RFC 3711 §3.4: "the same
// MKI ... as SRTP"), with the SRTCP session keys of labels 3-5 derived once.

import { constantTimeEqual } from '../crypto/mac.js';
import type { SrtcpTransform } from '../crypto/srtcp-transform.js';
import type { SrtpProfile } from '../crypto/srtp-profiles.js';
import type { KeyId } from '../ids.js';
import { mkiOfKeyId, type MkiLengthBytes } from '../packet/srtp-trailer.js';
import type { SrtpMasterKey } from './types.js';

export interface HeldSrtcpKey {
  readonly keyId: KeyId;
  readonly mki: number;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  readonly transform: SrtcpTransform;
}

/** Checks the key id (the profile checks the lengths with its exact message); derives the SRTCP session keys. */
export function holdSrtcpKey(
  where: string,
  profile: SrtpProfile,
  mkiLengthBytes: MkiLengthBytes,
  key: SrtpMasterKey,
): HeldSrtcpKey {
  if (!Number.isInteger(key.keyId) || key.keyId < 0 || key.keyId > 0xffffffff) {
    throw new RangeError(`${where}: keyId must be an integer in 0..4294967295, got ${key.keyId}`);
  }
  return {
    keyId: key.keyId,
    mki: mkiOfKeyId(key.keyId, mkiLengthBytes),
    masterKey: Uint8Array.from(key.masterKey),
    masterSalt: Uint8Array.from(key.masterSalt),
    transform: profile.createSrtcpTransform(key.masterKey, key.masterSalt),
  };
}

export function zeroizeSrtcpKey(k: HeldSrtcpKey): void {
  k.transform.zeroize();
  k.masterKey.fill(0);
  k.masterSalt.fill(0);
}

/** Same key material, compared in constant time. */
export function sameSrtcpKeyMaterial(k: HeldSrtcpKey, key: SrtpMasterKey): boolean {
  return constantTimeEqual(k.masterKey, key.masterKey) && constantTimeEqual(k.masterSalt, key.masterSalt);
}
