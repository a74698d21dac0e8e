// Subscriptions and service keys (claims 9-11). Buying a subscription (POST /v1/purchases/subscription) creates the
// entitlement if absent, logs a 'purchase' record on the subscription basis (billed once per client, service and
// period by src/billing/rate.ts), and answers with the period's service key (SK) wrapped under the client's key.
// A subscriber fetches the SK of a period it holds with POST /v1/keys/service (logged as 'service_key', not
// billed): the current period, or the next one ahead of the change. SKs are generated on first need and stored
// under the master key.
import type { ServiceId } from '../ids.js';
import {
  generateServiceKey,
  isPeriod,
  nextPeriod,
  periodOf,
  wrapServiceKeyForClient,
} from '../keys/service-key.js';
import type { LogRecord, StoreTx } from '../store/types.js';
import { openServiceKey, sealServiceKey } from '../store/vault.js';
import type { Authenticated, Deny, Outcome } from './authenticate.js';
import type { ServerContext } from './context.js';
import { REQUEST_ID_PATTERN, type ServiceKeyResponseBody } from './wire.js';

/** The SK of (service, period), generated and stored (under the master key) on first need. */
export async function serviceKey(
  ctx: ServerContext,
  tx: StoreTx,
  serviceId: ServiceId,
  period: string,
  nowMs: number,
): Promise<Uint8Array> {
  const existing = await tx.serviceKeys.get(serviceId, period);
  if (existing !== undefined)
    return openServiceKey(ctx.secrets.masterKey, serviceId, period, existing.wrappedKey);
  const sk = generateServiceKey();
  const row = await tx.serviceKeys.insertIfAbsent({
    serviceId,
    period,
    wrappedKey: sealServiceKey(ctx.secrets.masterKey, serviceId, period, sk),
    createdAtMs: nowMs,
  });
  sk.fill(0);
  return openServiceKey(ctx.secrets.masterKey, serviceId, period, row.wrappedKey);
}

function validServiceId(v: unknown): ServiceId | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffffffff
    ? (v as ServiceId)
    : undefined;
}

type Event = 'purchase' | 'service_key';

interface Parsed {
  readonly requestId: string;
  readonly serviceId: ServiceId;
  readonly period: string;
}

/** Checks the body, the period (current or next), the service, and answers a retry from the log. */
async function parse(
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  event: Event,
  body: unknown,
): Promise<{ ok: true; req: Parsed } | { ok: false; outcome: Outcome<ServiceKeyResponseBody> }> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { requestId, period } = b;
  if (typeof requestId !== 'string' || !REQUEST_ID_PATTERN.test(requestId)) {
    return {
      ok: false,
      outcome: await deny('invalid_request', 'requestId must be 1..64 characters of [A-Za-z0-9._:-]'),
    };
  }
  const serviceId = validServiceId(b.serviceId);
  if (serviceId === undefined)
    return {
      ok: false,
      outcome: await deny('invalid_request', 'serviceId must be an integer 1..4294967295'),
    };
  if (typeof period !== 'string' || !isPeriod(period))
    return { ok: false, outcome: await deny('invalid_request', 'period must be YYYY-MM', { serviceId }) };

  const previous = await tx.log.findDelivered(auth.client.id, requestId);
  if (previous !== undefined) {
    if (!sameRequest(previous, event, serviceId, period)) {
      return {
        ok: false,
        outcome: await deny(
          'request_id_conflict',
          `requestId ${requestId} was already used for another request`,
        ),
      };
    }
    return {
      ok: false,
      outcome: { ok: true, body: JSON.parse(previous.response!) as ServiceKeyResponseBody },
    };
  }

  if (auth.client.role !== 'receiver') {
    return {
      ok: false,
      outcome: await deny('forbidden_role', 'subscriptions and service keys are for receivers', {
        serviceId,
      }),
    };
  }
  if ((await tx.services.get(serviceId)) === undefined)
    return { ok: false, outcome: await deny('unknown_service', `no service ${serviceId}`, { serviceId }) };
  const current = periodOf(auth.nowMs);
  if (period < current) {
    return {
      ok: false,
      outcome: await deny('invalid_request', `period ${period} is over (now ${current})`, { serviceId }),
    };
  }
  if (period !== current && period !== nextPeriod(current)) {
    return {
      ok: false,
      outcome: await deny(
        'period_not_available',
        `period ${period} is not yet available: only ${current} and ${nextPeriod(current)} are`,
        { serviceId },
      ),
    };
  }
  return { ok: true, req: { requestId, serviceId, period } };
}

function sameRequest(r: LogRecord, event: Event, serviceId: ServiceId, period: string): boolean {
  return r.event === event && r.serviceId === serviceId && r.period === period;
}

async function answer(
  ctx: ServerContext,
  tx: StoreTx,
  auth: Authenticated,
  event: Event,
  req: Parsed,
): Promise<Outcome<ServiceKeyResponseBody>> {
  const sk = await serviceKey(ctx, tx, req.serviceId, req.period, auth.nowMs);
  const wrapped = wrapServiceKeyForClient(auth.uk, sk, {
    clientId: auth.client.id,
    serviceId: req.serviceId,
    period: req.period,
  });
  sk.fill(0);
  const response: ServiceKeyResponseBody = {
    requestId: req.requestId,
    serviceId: req.serviceId,
    period: req.period,
    wrappedKey: Buffer.from(wrapped).toString('base64'),
  };
  await tx.log.append({
    timeMs: auth.nowMs,
    ...auth.subject,
    requestId: req.requestId,
    serviceId: req.serviceId,
    event,
    outcome: 'delivered',
    code: null,
    basis: 'subscription',
    period: req.period,
    detail: null,
    response: JSON.stringify(response),
  });
  return { ok: true, body: response };
}

/** POST /v1/purchases/subscription, inside the request's transaction (claims 10, 11). */
export async function purchaseSubscription(
  ctx: ServerContext,
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  body: unknown,
): Promise<Outcome<ServiceKeyResponseBody>> {
  const p = await parse(tx, auth, deny, 'purchase', body);
  if (!p.ok) return p.outcome;
  const { serviceId, period } = p.req;
  if (!(await tx.entitlements.hasSubscription(auth.client.id, serviceId, period))) {
    await tx.entitlements.insert({
      kind: 'subscription',
      clientId: auth.client.id,
      serviceId,
      period,
      createdAtMs: auth.nowMs,
    });
  }
  return answer(ctx, tx, auth, 'purchase', p.req);
}

/** POST /v1/keys/service, inside the request's transaction: the SK of a period the subscriber holds. */
export async function deliverServiceKey(
  ctx: ServerContext,
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  body: unknown,
): Promise<Outcome<ServiceKeyResponseBody>> {
  const p = await parse(tx, auth, deny, 'service_key', body);
  if (!p.ok) return p.outcome;
  const { serviceId, period } = p.req;
  if (!(await tx.entitlements.hasSubscription(auth.client.id, serviceId, period))) {
    return deny(
      'not_entitled',
      `client ${auth.client.id} has no subscription to service ${serviceId} for ${period}`,
      { serviceId },
    );
  }
  return answer(ctx, tx, auth, 'service_key', p.req);
}
