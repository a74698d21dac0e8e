// Checks and helpers shared by the sender's and the receiver's master key tables.

import type { KeyId } from '../ids.js';
import { keyPhaseOf } from '../packet/key-phase.js';
import type { KeyChangeMode, KeyPhase } from '../packet/key-phase.js';
import { mkiOfKeyId } from '../packet/srtp-trailer.js';
import type { MkiLengthBytes } from '../packet/srtp-trailer.js';
import type { SrtpProfile, SrtpTransform } from '../crypto/srtp-profiles.js';
import type { SrtpMasterKey } from './types.js';

/** A master key as a context holds it: private copies of the key material and its transform. */
export interface HeldKey {
  readonly keyId: KeyId;
  readonly mki: number;
  /** The key id's low bit: what names the key in phase mode (claim 29). */
  readonly phase: KeyPhase;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  readonly transform: SrtpTransform;
}

export function checkMkiLength(where: string, n: number): MkiLengthBytes {
  if (n !== 0 && n !== 1 && n !== 2 && n !== 3 && n !== 4) {
    throw new RangeError(`${where}: mkiLengthBytes must be 0, 1, 2, 3 or 4, got ${n}`);
  }
  return n;
}

/** Checks lengths (the profile throws its exact message) and the key id; derives the session keys. */
export function holdKey(
  where: string,
  profile: SrtpProfile,
  mkiLengthBytes: MkiLengthBytes,
  key: SrtpMasterKey,
): HeldKey {
  if (!Number.isInteger(key.keyId) || key.keyId < 0 || key.keyId > 0xffffffff) {
    throw new RangeError(`${where}: keyId must be an integer in 0..4294967295, got ${key.keyId}`);
  }
  const transform = profile.createTransform(key.masterKey, key.masterSalt);
  return {
    keyId: key.keyId,
    mki: mkiOfKeyId(key.keyId, mkiLengthBytes),
    phase: keyPhaseOf(key.keyId),
    masterKey: Uint8Array.from(key.masterKey),
    masterSalt: Uint8Array.from(key.masterSalt),
    transform,
  };
}

export function zeroizeKey(k: HeldKey): void {
  k.transform.zeroize();
  k.masterKey.fill(0);
  k.masterSalt.fill(0);
}

/** Same key material, compared without an early exit. */
export function sameKeyMaterial(k: HeldKey, key: SrtpMasterKey): boolean {
  return constantTimeEqual(k.masterKey, key.masterKey) && constantTimeEqual(k.masterSalt, key.masterSalt);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * What names the key inside a packet: its MKI, or in phase mode its phase. Two live keys of one context never
 * share a slot.
 */
export function keySlot(k: HeldKey, keyChange: KeyChangeMode): number {
  return keyChange === 'phase' ? k.phase : k.mki;
}

/** The key change mode, checked: phase mode adds no MKI bytes, so it takes mkiLengthBytes 0. */
export function checkKeyChange(
  where: string,
  keyChange: KeyChangeMode | undefined,
  mkiLengthBytes: MkiLengthBytes,
): KeyChangeMode {
  const mode = keyChange ?? 'mki';
  if (mode !== 'mki' && mode !== 'phase') {
    throw new RangeError(`${where}: keyChange must be 'mki' or 'phase', got ${String(mode)}`);
  }
  if (mode === 'phase' && mkiLengthBytes !== 0) {
    throw new RangeError(`${where}: keyChange 'phase' takes mkiLengthBytes 0, got ${mkiLengthBytes}`);
  }
  return mode;
}

/** The slot in words, for error messages. */
export function describeSlot(k: HeldKey, keyChange: KeyChangeMode, mkiLengthBytes: MkiLengthBytes): string {
  return keyChange === 'phase' ? `key phase ${k.phase}` : describeMki(k.mki, mkiLengthBytes);
}

export function describeMki(mki: number, mkiLengthBytes: MkiLengthBytes): string {
  if (mkiLengthBytes === 0) return 'the empty MKI';
  return `MKI 0x${mki.toString(16).padStart(2 * mkiLengthBytes, '0')}`;
}
