import { describe, expect, it } from 'vitest';
import { generateClientKey } from '../../src/keys/client-key.js';
import { generateSegmentKey } from '../../src/keys/segment-key.js';
import {
  generateServiceKey,
  nextPeriod,
  periodFromNumber,
  periodNumber,
  periodStartMs,
  unwrapSegmentKeyUnderServiceKey,
  unwrapServiceKeyForClient,
  wrapSegmentKeyUnderServiceKey,
  wrapServiceKeyForClient,
} from '../../src/keys/service-key.js';

describe('service keys', () => {
  it('numbers periods as months since 1970-01, both ways', () => {
    expect(periodNumber('1970-01')).toBe(0);
    expect(periodNumber('2026-12')).toBe(683);
    expect(periodFromNumber(683)).toBe('2026-12');
    expect(periodFromNumber(periodNumber('2027-01'))).toBe('2027-01');
    expect(nextPeriod('2026-12')).toBe('2027-01');
    expect(periodStartMs('2027-01')).toBe(Date.UTC(2027, 0, 1));
    expect(() => periodNumber('2026-13')).toThrow(/YYYY-MM/);
    expect(() => periodNumber('1969-12')).toThrow(/outside/);
    expect(() => periodFromNumber(0x10000)).toThrow(/u16/);
  });

  it('an SK wrapped for one client opens only for that client, service and period', () => {
    const uk = generateClientKey();
    const sk = generateServiceKey();
    const ctx = { clientId: 1, serviceId: 2, period: '2026-12' };
    const w = wrapServiceKeyForClient(uk, sk, ctx);
    expect(unwrapServiceKeyForClient(uk, w, ctx)).toEqual({ ok: true, key: sk });
    expect(unwrapServiceKeyForClient(generateClientKey(), w, ctx).ok).toBe(false);
    for (const other of [{ clientId: 9 }, { serviceId: 9 }, { period: '2027-01' }]) {
      expect(unwrapServiceKeyForClient(uk, w, { ...ctx, ...other })).toEqual({
        ok: false,
        reason: 'auth_fail',
      });
    }
  });

  it('a PSK under an SK opens only with that SK and for its service, period, programme, segment and epoch', () => {
    const sk = generateServiceKey();
    const psk = generateSegmentKey();
    const ctx = { serviceId: 1, period: '2026-12', programmeId: 2, segment: 3, epoch: 0 };
    const w = wrapSegmentKeyUnderServiceKey(sk, psk, ctx);
    expect(unwrapSegmentKeyUnderServiceKey(sk, w, ctx)).toEqual({ ok: true, key: psk });
    expect(unwrapSegmentKeyUnderServiceKey(generateServiceKey(), w, ctx).ok).toBe(false);
    for (const other of [
      { serviceId: 9 },
      { period: '2027-01' },
      { programmeId: 9 },
      { segment: 4 },
      { epoch: 1 },
    ]) {
      expect(unwrapSegmentKeyUnderServiceKey(sk, w, { ...ctx, ...other }).ok).toBe(false);
    }
    expect(() => wrapSegmentKeyUnderServiceKey(sk.subarray(0, 16), psk, ctx)).toThrow(/32 bytes/);
  });
});
