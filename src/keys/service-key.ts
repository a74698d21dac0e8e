// Service keys (SK): 32 random bytes per (service, subscription period 'YYYY-MM'). A subscriber receives the SK of
// each period it bought, wrapped under its client key (claims 10, 11); the key server multicasts each programme
// segment key of the service wrapped under the SK (claim 9), so a subscriber never asks for a segment key.
//
// In a key message entry (src/packet/key-message.ts, wrapKind 'service') the wrapping SK is named by wrapKeyId =
// service id and epoch = the period's number: months since 1970-01 (periodNumber('1970-01') = 0,
// periodNumber('2026-12') = 683), which fits the entry's u16 epoch until the year 7431.
import { unwrapKey, wrapKey, type UnwrapResult } from '../crypto/aead-wrap.js';
import { randomBytes } from '../crypto/random.js';
import { aadSegmentKeyUnderServiceKey, aadServiceKeyForClient } from './aad.js';
import { deriveClientWrapKey } from './client-key.js';
import { SEGMENT_KEY_LENGTH_BYTES } from './segment-key.js';

export const SERVICE_KEY_LENGTH_BYTES = 32;
const PERIOD = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

export function isPeriod(s: string): boolean {
  return PERIOD.test(s);
}

/** 'YYYY-MM' of a UTC instant: the subscription period that covers it. */
export function periodOf(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 7);
}

/** The period after `period` ('2026-12' → '2027-01'). */
export function nextPeriod(period: string): string {
  return periodFromNumber(periodNumber(period) + 1);
}

/** Unix ms at which `period` starts (UTC). */
export function periodStartMs(period: string): number {
  const n = periodNumber(period);
  return Date.UTC(1970 + Math.floor(n / 12), n % 12, 1);
}

/** Months since 1970-01: the epoch of a service-key entry in key messages. Throws on a malformed period. */
export function periodNumber(period: string): number {
  const m = PERIOD.exec(period);
  if (m === null) throw new RangeError(`period must be YYYY-MM, got ${period}`);
  const n = (Number(m[1]) - 1970) * 12 + Number(m[2]) - 1;
  if (n < 0 || n > 0xffff) throw new RangeError(`period ${period} is outside 1970-01..7431-04`);
  return n;
}

export function periodFromNumber(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff)
    throw new RangeError(`period number must be a u16, got ${n}`);
  const year = 1970 + Math.floor(n / 12);
  return `${String(year).padStart(4, '0')}-${String((n % 12) + 1).padStart(2, '0')}`;
}

export interface ServiceKeyContext {
  readonly clientId: number;
  readonly serviceId: number;
  readonly period: string;
}

export interface SegmentKeyUnderServiceKeyContext {
  readonly serviceId: number;
  readonly period: string;
  readonly programmeId: number;
  readonly segment: number;
  readonly epoch: number;
}

export function generateServiceKey(): Uint8Array {
  return randomBytes(SERVICE_KEY_LENGTH_BYTES);
}

function checkLength(what: string, key: Uint8Array, lengthBytes: number): void {
  if (key.length !== lengthBytes)
    throw new RangeError(`${what} must be ${lengthBytes} bytes, got ${key.length}`);
}

/** Wrap an SK for one subscriber under the client's key (claim 11). */
export function wrapServiceKeyForClient(uk: Uint8Array, sk: Uint8Array, ctx: ServiceKeyContext): Uint8Array {
  checkLength('SK', sk, SERVICE_KEY_LENGTH_BYTES);
  return wrapKey(
    deriveClientWrapKey(uk),
    sk,
    aadServiceKeyForClient(ctx.clientId, ctx.serviceId, ctx.period),
  );
}

/** Unwrap an SK received from the key server. Untrusted input: returns a result. */
export function unwrapServiceKeyForClient(
  uk: Uint8Array,
  wrapped: Uint8Array,
  ctx: ServiceKeyContext,
): UnwrapResult {
  const aad = aadServiceKeyForClient(ctx.clientId, ctx.serviceId, ctx.period);
  const r = unwrapKey(deriveClientWrapKey(uk), wrapped, aad);
  if (r.ok && r.key.length !== SERVICE_KEY_LENGTH_BYTES) return { ok: false, reason: 'auth_fail' };
  return r;
}

/** Wrap a PSK under an SK, for a segment_key message entry (claim 9). */
export function wrapSegmentKeyUnderServiceKey(
  sk: Uint8Array,
  psk: Uint8Array,
  ctx: SegmentKeyUnderServiceKeyContext,
): Uint8Array {
  checkLength('SK', sk, SERVICE_KEY_LENGTH_BYTES);
  checkLength('PSK', psk, SEGMENT_KEY_LENGTH_BYTES);
  const aad = aadSegmentKeyUnderServiceKey(
    ctx.serviceId,
    ctx.period,
    ctx.programmeId,
    ctx.segment,
    ctx.epoch,
  );
  return wrapKey(sk, psk, aad);
}

/** Unwrap a PSK from a segment_key message entry. Untrusted input: returns a result. */
export function unwrapSegmentKeyUnderServiceKey(
  sk: Uint8Array,
  wrapped: Uint8Array,
  ctx: SegmentKeyUnderServiceKeyContext,
): UnwrapResult {
  const aad = aadSegmentKeyUnderServiceKey(
    ctx.serviceId,
    ctx.period,
    ctx.programmeId,
    ctx.segment,
    ctx.epoch,
  );
  const r = unwrapKey(sk, wrapped, aad);
  if (r.ok && r.key.length !== SEGMENT_KEY_LENGTH_BYTES) return { ok: false, reason: 'auth_fail' };
  return r;
}
