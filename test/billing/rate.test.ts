import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invoiceToCsv } from '../../src/billing/format.js';
import {
  parseRatePlan,
  readRatePlanFile,
  RatePlanError,
  type RatePlan,
} from '../../src/billing/rate-plan.js';
import { BillingError, rateLog } from '../../src/billing/rate.js';
import { asClientId, asProgrammeId, asSegmentIndex, asServiceId } from '../../src/ids.js';
import type { LogRecord } from '../../src/store/types.js';

const plan: RatePlan = parseRatePlan({
  version: 1,
  currency: 'EUR',
  subscriptions: [{ serviceId: 1, periodPrice: 1500 }],
  segments: [{ programmeId: 1, price: 25 }],
  defaultSegmentPrice: 30,
});

let seq = 0;
function r(over: Partial<LogRecord>): LogRecord {
  seq++;
  return {
    seq,
    timeMs: seq,
    requestId: `r${seq}`,
    clientId: asClientId(1),
    authenticated: true,
    serviceId: asServiceId(1),
    programmeId: asProgrammeId(1),
    segment: asSegmentIndex(0),
    keyId: null,
    event: 'segment_key',
    outcome: 'delivered',
    code: null,
    basis: 'per_segment',
    period: null,
    detail: null,
    response: null,
    prevHash: '',
    hash: '',
    ...over,
  };
}
const seg = (client: number, programme: number, segment: number, over: Partial<LogRecord> = {}) =>
  r({
    clientId: asClientId(client),
    programmeId: asProgrammeId(programme),
    segment: asSegmentIndex(segment),
    ...over,
  });

const log: readonly LogRecord[] = [
  seg(1, 1, 0),
  seg(1, 1, 1),
  seg(1, 1, 1), // the same segment again: billed once
  seg(1, 1, 2, { outcome: 'denied', code: 'not_entitled', basis: null }), // denied: never billed
  seg(1, 2, 5), // programme 2: default price
  seg(2, 1, 0, { basis: 'subscription' }), // subscriber: not billed per segment
  r({
    clientId: asClientId(2),
    event: 'grant',
    basis: 'subscription',
    period: '2026-12',
    programmeId: null,
    segment: null,
    authenticated: false,
  }),
  r({
    clientId: asClientId(2),
    event: 'purchase',
    basis: 'subscription',
    period: '2026-12',
    programmeId: null,
    segment: null,
  }),
  r({
    clientId: asClientId(2),
    event: 'grant',
    basis: 'subscription',
    period: '2027-01',
    programmeId: null,
    segment: null,
  }),
  r({
    clientId: null,
    event: 'segment_key',
    outcome: 'denied',
    code: 'unknown_client',
    authenticated: false,
  }),
];

describe('rateLog', () => {
  it('bills distinct delivered per-segment segments and subscription periods, in integer minor units', () => {
    expect(rateLog(log, plan)).toEqual({
      currency: 'EUR',
      lines: [
        { client: 1, item: 'segments programme=1', quantity: 2, unitPrice: 25, amount: 50 },
        { client: 1, item: 'segments programme=2', quantity: 1, unitPrice: 30, amount: 30 },
        {
          client: 2,
          item: 'subscription service=1 period=2026-12',
          quantity: 1,
          unitPrice: 1500,
          amount: 1500,
        },
        {
          client: 2,
          item: 'subscription service=1 period=2027-01',
          quantity: 1,
          unitPrice: 1500,
          amount: 1500,
        },
      ],
      totals: [
        { client: 1, amount: 80 },
        { client: 2, amount: 3000 },
      ],
    });
  });

  it('is pure: same invoice on every run and for any order of the records, input not mutated', () => {
    const frozen = Object.freeze(log.map((x) => Object.freeze({ ...x })));
    const before = structuredClone(frozen);
    const planBefore = structuredClone(plan);
    const first = rateLog(frozen, plan);
    expect(rateLog(frozen, plan)).toEqual(first);
    fc.assert(
      fc.property(fc.shuffledSubarray([...frozen], { minLength: frozen.length }), (shuffled) => {
        expect(rateLog(shuffled, plan)).toEqual(first);
      }),
    );
    expect(frozen).toEqual(before);
    expect(plan).toEqual(planBefore);
  });

  it('refuses to rate an item the plan does not price', () => {
    const noDefault = parseRatePlan({
      version: 1,
      currency: 'EUR',
      segments: [{ programmeId: 1, price: 1 }],
    });
    expect(() => rateLog([seg(1, 3, 0)], noDefault)).toThrow(BillingError);
    expect(() => rateLog([seg(1, 3, 0)], noDefault)).toThrow(/programme 3/);
    expect(() =>
      rateLog([r({ event: 'grant', basis: 'subscription', period: '2026-01' })], noDefault),
    ).toThrow(/service 1/);
    expect(rateLog([], noDefault)).toEqual({ currency: 'EUR', lines: [], totals: [] });
  });

  it('writes CSV with totals', () => {
    expect(invoiceToCsv(rateLog(log, plan)).split('\r\n').slice(0, 2)).toEqual([
      'client,item,quantity,unit_price,amount,currency',
      '1,segments programme=1,2,25,50,EUR',
    ]);
    expect(invoiceToCsv(rateLog(log, plan))).toContain('2,TOTAL,,,3000,EUR\r\n');
  });
});

describe('rate plan', () => {
  it('validates with clear messages', () => {
    expect(() => parseRatePlan({ version: 1, currency: 'euro' })).toThrow(/currency/);
    expect(() =>
      parseRatePlan({ version: 1, currency: 'EUR', segments: [{ programmeId: 1, price: 2.5 }] }),
    ).toThrow(/segments\.0\.price/);
    expect(() =>
      parseRatePlan({
        version: 1,
        currency: 'EUR',
        subscriptions: [
          { serviceId: 1, periodPrice: 1 },
          { serviceId: 1, periodPrice: 2 },
        ],
      }),
    ).toThrow(RatePlanError);
  });

  it('the sample plan in samples/ is valid', async () => {
    const p = await readRatePlanFile('samples/rate-plan.json');
    expect(p.currency).toBe('EUR');
  });
});

describe('rateLog: sessions (docs/membership.md)', () => {
  const sessionPlan = parseRatePlan({
    version: 1,
    currency: 'EUR',
    subscriptions: [{ serviceId: 1, periodPrice: 1500 }],
    segments: [{ programmeId: 1, price: 25 }],
    sessions: [{ programmeId: 3, minutePrice: 4 }],
  });
  const ev = (client: number, event: LogRecord['event'], timeMs: number, detail: object | null = null) =>
    r({
      clientId: asClientId(client),
      programmeId: asProgrammeId(3),
      segment: null,
      basis: null,
      event,
      timeMs,
      detail: detail === null ? null : JSON.stringify(detail),
    });
  const sessionLog: LogRecord[] = [
    seg(1, 1, 0),
    ev(1, 'join', 1_000),
    ev(1, 'leave', 62_000),
    ev(1, 'billing_stop', 62_000, { by: 'leave', billedMs: 61_000 }), // 2 started minutes
    ev(2, 'join', 5_000),
    // evicted at 200 s, last keep-alive at 65 s: billed 60 s = 1 minute, not 4
    ev(2, 'evict', 200_000, { by: 'keepalive', lastKeepAliveMs: 65_000 }),
    ev(2, 'billing_stop', 200_000, { by: 'keepalive', billedMs: 60_000 }),
    ev(1, 'join', 300_000), // a second session of client 1, 0 ms long: one started minute
    ev(1, 'billing_stop', 300_000, { by: 'leave', billedMs: 0 }),
    ev(3, 'join', 400_000), // still open: billed up to the log's last record (500 s): 100 s = 2 minutes
    r({
      clientId: asClientId(3),
      event: 'segment_key',
      outcome: 'denied',
      code: 'not_entitled',
      timeMs: 500_000,
    }),
    { ...ev(4, 'join', 450_000), outcome: 'denied' as const, code: 'not_session' }, // denied: nothing
  ];

  it('bills started minutes per session, beside segment lines; evicted to the last keep-alive', () => {
    const inv = rateLog(sessionLog, sessionPlan);
    expect(inv.lines.map((l) => [l.client, l.item, l.quantity, l.amount])).toEqual([
      [1, 'segments programme=1', 1, 25],
      [1, 'session programme=3', 3, 12],
      [2, 'session programme=3', 1, 4],
      [3, 'session programme=3', 2, 8],
    ]);
  });

  it('does not depend on the order the records are given in', () => {
    const first = rateLog(sessionLog, sessionPlan);
    fc.assert(
      fc.property(fc.shuffledSubarray(sessionLog, { minLength: sessionLog.length }), (shuffled) => {
        expect(rateLog(shuffled, sessionPlan)).toEqual(first);
      }),
    );
  });

  it('refuses a session the plan does not price, and a programme priced twice', () => {
    expect(() => rateLog(sessionLog, plan)).toThrow(BillingError);
    expect(() =>
      parseRatePlan({
        version: 1,
        currency: 'EUR',
        sessions: [
          { programmeId: 3, minutePrice: 1 },
          { programmeId: 3, minutePrice: 2 },
        ],
      }),
    ).toThrow(RatePlanError);
  });
});
