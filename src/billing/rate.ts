// Billing: a pure function of the request log and a rate plan. Same log, same plan, same invoice; the inputs are
// never mutated; amounts are integer minor units.
//
//   per segment:   each distinct (client, programme, segment) with a delivered segment_key record on the
//                  per_segment basis, × the programme's segment price. A retry answered from the log adds no record,
//                  and a second request for the same segment is still one segment: billed once.
//   subscription:  each distinct (client, service, period) with a delivered purchase or grant record on the
//                  subscription basis, × the service's period price.
//
//   session:       per (client, programme), the started minutes of each session, × the programme's minute price.
//                  A session runs from its delivered `join` record to the next delivered `billing_stop` record of
//                  the same client and programme; its length is the stop's detail.billedMs (measured by the key
//                  server on its monotonic clock: to the leave, or for an evicted member to its last keep-alive),
//                  else the difference of the two records' times. Each session is at least one started minute
//                  (ceil(ms / 60000), minimum 1). A session still open at the end of the log is billed up to the
//                  time of the log's last record.
//
// Segment keys delivered on the subscription basis are covered by the subscription and not billed per segment.
// Denied records are never billed.
import type { LogRecord } from '../store/types.js';
import type { RatePlan } from './rate-plan.js';

export interface InvoiceLine {
  readonly client: number;
  readonly item: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly amount: number;
}

export interface InvoiceTotal {
  readonly client: number;
  readonly amount: number;
}

export interface Invoice {
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  readonly totals: readonly InvoiceTotal[];
}

export class BillingError extends Error {
  override readonly name = 'BillingError';
}

type RateableRecord = Pick<
  LogRecord,
  'clientId' | 'event' | 'outcome' | 'basis' | 'serviceId' | 'programmeId' | 'segment' | 'period'
> &
  Partial<Pick<LogRecord, 'seq' | 'timeMs' | 'detail'>>;

const MINUTE_MS = 60_000;

/** Started minutes of a session of `ms` milliseconds: at least one. */
export function startedMinutes(ms: number): number {
  return Math.max(1, Math.ceil(Math.max(0, ms) / MINUTE_MS));
}

function billedMsOf(detail: string | null | undefined): number | undefined {
  if (detail === null || detail === undefined) return undefined;
  try {
    const d = JSON.parse(detail) as { billedMs?: unknown };
    return typeof d.billedMs === 'number' && Number.isFinite(d.billedMs) && d.billedMs >= 0
      ? d.billedMs
      : undefined;
  } catch {
    return undefined;
  }
}

interface Key {
  readonly client: number;
  readonly sort: readonly [number, number, string];
  readonly item: string;
}

function safe(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new BillingError(`${what} overflows the safe integer range`);
  return n;
}

export function rateLog(records: readonly RateableRecord[], plan: RatePlan): Invoice {
  const subscriptionPrice = new Map(plan.subscriptions.map((s) => [s.serviceId, s.periodPrice]));
  const segmentPrice = new Map(plan.segments.map((s) => [s.programmeId, s.price]));
  // (client, programme) → distinct segments; (client, service, period) → present.
  const segments = new Map<string, { client: number; programme: number; set: Set<number> }>();
  const subscriptions = new Map<string, { client: number; service: number; period: string }>();
  // (client, programme) → started minutes so far; open sessions → join time.
  const sessions = new Map<
    string,
    { client: number; programme: number; minutes: number; sessions: number }
  >();
  const open = new Map<string, number>();
  let lastTimeMs = 0;
  const addSession = (client: number, programme: number, ms: number) => {
    const k = `${client}/${programme}`;
    let e = sessions.get(k);
    if (e === undefined) sessions.set(k, (e = { client, programme, minutes: 0, sessions: 0 }));
    e.minutes = safe(e.minutes + startedMinutes(ms), `session minutes of client ${client}`);
    e.sessions += 1;
  };

  // Sessions pair each join with the next stop in log order (by seq), whatever order the records come in.
  const sessionRecords = records
    .filter(
      (r) =>
        (r.event === 'join' || r.event === 'billing_stop') &&
        r.outcome === 'delivered' &&
        r.clientId !== null &&
        r.programmeId !== null,
    )
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  for (const r of records) if (r.timeMs !== undefined) lastTimeMs = Math.max(lastTimeMs, r.timeMs);
  for (const r of sessionRecords) {
    const client = r.clientId!;
    const programme = r.programmeId!;
    const k = `${client}/${programme}`;
    const startedAt = open.get(k);
    if (r.event === 'join') {
      // A join while a session is open (keycast logs a stop first on a rejoin) closes the old one.
      if (startedAt !== undefined) addSession(client, programme, (r.timeMs ?? startedAt) - startedAt);
      open.set(k, r.timeMs ?? 0);
    } else if (startedAt !== undefined) {
      addSession(client, programme, billedMsOf(r.detail) ?? (r.timeMs ?? startedAt) - startedAt);
      open.delete(k);
    }
  }

  for (const r of records) {
    if (r.outcome !== 'delivered' || r.clientId === null) continue;
    if (
      r.event === 'segment_key' &&
      r.basis === 'per_segment' &&
      r.programmeId !== null &&
      r.segment !== null
    ) {
      const k = `${r.clientId}/${r.programmeId}`;
      let e = segments.get(k);
      if (e === undefined)
        segments.set(k, (e = { client: r.clientId, programme: r.programmeId, set: new Set() }));
      e.set.add(r.segment);
    } else if (
      (r.event === 'purchase' || r.event === 'grant') &&
      r.basis === 'subscription' &&
      r.serviceId !== null &&
      r.period !== null
    ) {
      subscriptions.set(`${r.clientId}/${r.serviceId}/${r.period}`, {
        client: r.clientId,
        service: r.serviceId,
        period: r.period,
      });
    }
  }

  const lines: (InvoiceLine & { key: Key })[] = [];
  for (const s of subscriptions.values()) {
    const price = subscriptionPrice.get(s.service);
    if (price === undefined)
      throw new BillingError(`the rate plan has no period price for service ${s.service}`);
    const item = `subscription service=${s.service} period=${s.period}`;
    lines.push({
      client: s.client,
      item,
      quantity: 1,
      unitPrice: price,
      amount: price,
      key: { client: s.client, sort: [0, s.service, s.period], item },
    });
  }
  for (const g of segments.values()) {
    const price = segmentPrice.get(g.programme) ?? plan.defaultSegmentPrice;
    if (price === undefined) {
      throw new BillingError(
        `the rate plan has no segment price for programme ${g.programme} and no default`,
      );
    }
    const item = `segments programme=${g.programme}`;
    const quantity = g.set.size;
    lines.push({
      client: g.client,
      item,
      quantity,
      unitPrice: price,
      amount: safe(quantity * price, item),
      key: { client: g.client, sort: [1, g.programme, ''], item },
    });
  }
  for (const [k, startedAt] of open) {
    const [client, programme] = k.split('/').map(Number) as [number, number];
    addSession(client, programme, lastTimeMs - startedAt);
  }
  const minutePrice = new Map((plan.sessions ?? []).map((s) => [s.programmeId, s.minutePrice]));
  for (const g of sessions.values()) {
    const price = minutePrice.get(g.programme);
    if (price === undefined)
      throw new BillingError(`the rate plan has no minute price for session programme ${g.programme}`);
    const item = `session programme=${g.programme}`;
    lines.push({
      client: g.client,
      item,
      quantity: g.minutes,
      unitPrice: price,
      amount: safe(g.minutes * price, item),
      key: { client: g.client, sort: [2, g.programme, ''], item },
    });
  }
  lines.sort((a, b) => compare(a.key, b.key));

  const totals = new Map<number, number>();
  for (const l of lines)
    totals.set(l.client, safe((totals.get(l.client) ?? 0) + l.amount, `total of client ${l.client}`));
  return {
    currency: plan.currency,
    lines: lines.map(({ client, item, quantity, unitPrice, amount }) => ({
      client,
      item,
      quantity,
      unitPrice,
      amount,
    })),
    totals: [...totals.entries()].sort((a, b) => a[0] - b[0]).map(([client, amount]) => ({ client, amount })),
  };
}

function compare(a: Key, b: Key): number {
  return (
    a.client - b.client ||
    a.sort[0] - b.sort[0] ||
    a.sort[1] - b.sort[1] ||
    (a.sort[2] < b.sort[2] ? -1 : a.sort[2] > b.sort[2] ? 1 : 0)
  );
}
