// Programme segment keys (PSK): 32 random bytes per (programme, segment, epoch). They wrap the content keys of
// their segment in key messages, and are themselves delivered to entitled clients wrapped under the client's key.
import { unwrapKey, wrapKey, type UnwrapResult } from '../crypto/aead-wrap.js';
import { randomBytes } from '../crypto/random.js';
import { aadSegmentKeyForClient } from './aad.js';
import { deriveClientWrapKey } from './client-key.js';

export const SEGMENT_KEY_LENGTH_BYTES = 32;

export interface SegmentKeyContext {
  readonly clientId: number;
  readonly programmeId: number;
  readonly segment: number;
  readonly epoch: number;
}

export function generateSegmentKey(): Uint8Array {
  return randomBytes(SEGMENT_KEY_LENGTH_BYTES);
}

/** Wrap a PSK for one client under the client's key (claim 6). */
export function wrapSegmentKeyForClient(uk: Uint8Array, psk: Uint8Array, ctx: SegmentKeyContext): Uint8Array {
  if (psk.length !== SEGMENT_KEY_LENGTH_BYTES)
    throw new RangeError(`PSK must be 32 bytes, got ${psk.length}`);
  const aad = aadSegmentKeyForClient(ctx.clientId, ctx.programmeId, ctx.segment, ctx.epoch);
  return wrapKey(deriveClientWrapKey(uk), psk, aad);
}

/** Unwrap a PSK received from the key server. Untrusted input: returns a result. */
export function unwrapSegmentKeyForClient(
  uk: Uint8Array,
  wrapped: Uint8Array,
  ctx: SegmentKeyContext,
): UnwrapResult {
  const aad = aadSegmentKeyForClient(ctx.clientId, ctx.programmeId, ctx.segment, ctx.epoch);
  const r = unwrapKey(deriveClientWrapKey(uk), wrapped, aad);
  if (r.ok && r.key.length !== SEGMENT_KEY_LENGTH_BYTES) return { ok: false, reason: 'auth_fail' };
  return r;
}
