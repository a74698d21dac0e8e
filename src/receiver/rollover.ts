// The receiver's rule for seamless rollover at a segment boundary (claim 12). The first content key of segment N
// comes in one message wrapped under PSK(N) and under PSK(N-1) (src/server/content-keys.ts); the key belongs to N,
// the newest segment its message names. The copy under PSK(N-1) may be used only when packets are already arriving
// under the key (the boundary has come) and PSK(N) is still on its way: neither held nor refused. After a final
// refusal for N it is never used, so a receiver entitled only to N-1 stops exactly at the boundary.
// docs/key-server.md ("Rollover at segment boundaries") says what this costs.
import { ERROR_CODES, isErrorCode } from '../server/errors.js';
import { CLIENT_ERROR_CODES } from '../server/refusal.js';
import type { OpenedContentKey } from './key-message-gate.js';

export type ContentKeyMaterial = { masterKey: Uint8Array; masterSalt: Uint8Array };

/** The segment a content key belongs to: the newest its message names (src/packet/key-message.ts). */
export function segmentOf(ck: Pick<OpenedContentKey, 'segments'>): number | undefined {
  return ck.segments.length === 0 ? undefined : Math.max(...ck.segments);
}

/** A refusal that asking again will not change (e.g. not_entitled), as against a key server that did not answer. */
export function isFinalRefusal(code: string | undefined): boolean {
  if (code === undefined) return false;
  if (isErrorCode(code)) return !ERROR_CODES[code].retryable;
  return code in CLIENT_ERROR_CODES && !CLIENT_ERROR_CODES[code as keyof typeof CLIENT_ERROR_CODES].retryable;
}

/** What the receiver knows of the segment keys. */
export interface SegmentKeyView {
  /** The PSK of `segment` if held. */
  held(segment: number): Uint8Array | undefined;
  /** Why the key server gave no PSK for `segment`, if it did not. */
  refusal(segment: number): string | undefined;
}

/**
 * The content key from its copy under an earlier segment's PSK, when the rule above allows it; with the segment
 * whose key opened it. `needed`: packets under the key have arrived.
 */
export function rolloverCopy(
  ck: Pick<OpenedContentKey, 'segments' | 'unwrap'>,
  needed: boolean,
  keys: SegmentKeyView,
): { key: ContentKeyMaterial; under: number } | undefined {
  const segment = segmentOf(ck);
  if (segment === undefined || !needed) return undefined;
  if (keys.held(segment) !== undefined) return undefined; // held: only its own copy counts
  if (isFinalRefusal(keys.refusal(segment))) return undefined;
  for (const earlier of ck.segments) {
    if (earlier >= segment) continue;
    const psk = keys.held(earlier);
    const key = psk === undefined ? undefined : ck.unwrap(earlier, psk);
    if (key !== undefined) return { key, under: earlier };
  }
  return undefined;
}
