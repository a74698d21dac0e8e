// Narrows a programme's announced SRTP parameters (from the key server, untyped on the wire) to what this
// SRTP stack implements. Throws with an exact message: a programme this build cannot serve is a set-up error.
import { isSrtpProfileName, type SrtpProfileName } from '../crypto/srtp-profiles.js';
import type { MkiLengthBytes } from './types.js';

export interface SrtpParams {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
}

export function srtpParams(p: { readonly profile: string; readonly mkiLengthBytes: number }): SrtpParams {
  if (!isSrtpProfileName(p.profile))
    throw new Error(`SRTP profile ${p.profile} is not implemented by this keycast`);
  const m = p.mkiLengthBytes;
  if (m !== 0 && m !== 1 && m !== 2 && m !== 3 && m !== 4)
    throw new Error(`MKI length must be 0..4 bytes, got ${m}`);
  return { profile: p.profile, mkiLengthBytes: m };
}
