// Narrows a programme's announced SRTP parameters (from the key server, untyped on the wire) to what this
// SRTP stack implements. Throws with an exact message: a programme this build cannot serve is a set-up error.
import { isSrtpProfileName, type SrtpProfileName } from '../crypto/srtp-profiles.js';
import { isKeyChangeMode, type KeyChangeMode } from '../packet/key-phase.js';
import type { MkiLengthBytes } from './types.js';

export interface SrtpParams {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly keyChange: KeyChangeMode;
}

export function srtpParams(p: {
  readonly profile: string;
  readonly mkiLengthBytes: number;
  /** Absent from a key server older than claim 29's support: MKI mode. */
  readonly keyChange?: string | undefined;
}): SrtpParams {
  if (!isSrtpProfileName(p.profile))
    throw new Error(`SRTP profile ${p.profile} is not implemented by this keycast`);
  const m = p.mkiLengthBytes;
  if (m !== 0 && m !== 1 && m !== 2 && m !== 3 && m !== 4)
    throw new Error(`MKI length must be 0..4 bytes, got ${m}`);
  const keyChange = p.keyChange ?? 'mki';
  if (!isKeyChangeMode(keyChange))
    throw new Error(`key change mode ${keyChange} is not implemented by this keycast`);
  if (keyChange === 'phase' && m !== 0) throw new Error(`key change 'phase' takes MKI length 0, got ${m}`);
  return { profile: p.profile, mkiLengthBytes: m, keyChange };
}
