// Delivering programme segment keys (claims 1-3, 5, 6). The server keeps no list of who needs which key (claim 2):
// it answers requests. For each: the programme exists, the segment is valid and not too far ahead of the sender,
// the client is entitled (a subscription to the programme's service covering now, or a per-segment grant covering
// the segment), the PSK exists (generated on first need), and the log record holding the answer is written in the
// same transaction before the answer leaves. A client may ask for any past segment it is entitled to, the
// sender's current one, and the next (so a receiver can fetch it before the boundary); further ahead is refused.
import type { ProgrammeId, SegmentIndex } from '../ids.js';
import { generateSegmentKey, wrapSegmentKeyForClient } from '../keys/segment-key.js';
import { periodOf } from '../store/admin.js';
import type { LogBasis, ProgrammeRow, StoreTx } from '../store/types.js';
import { openSegmentKey, sealSegmentKey } from '../store/vault.js';
import type { Authenticated, Deny, Outcome } from './authenticate.js';
import type { ServerContext } from './context.js';
import {
  REQUEST_ID_PATTERN,
  SEGMENT_KEY_DELIVERIES,
  type SegmentKeyDelivery,
  type SegmentKeyResponseBody,
} from './wire.js';

/** Epoch of segment keys until membership rekeying (a later issue) starts new epochs. */
export const CURRENT_EPOCH = 0;

/** The programme's PSK for (segment, epoch), generated and stored (under the master key) on first need. */
export async function segmentKey(
  ctx: ServerContext,
  tx: StoreTx,
  programmeId: ProgrammeId,
  segment: SegmentIndex,
  epoch: number,
  nowMs: number,
): Promise<Uint8Array> {
  const existing = await tx.segmentKeys.get(programmeId, segment, epoch);
  if (existing !== undefined)
    return openSegmentKey(ctx.secrets.masterKey, programmeId, segment, epoch, existing.wrappedKey);
  const psk = generateSegmentKey();
  const wrappedKey = sealSegmentKey(ctx.secrets.masterKey, programmeId, segment, epoch, psk);
  const row = await tx.segmentKeys.insertIfAbsent({
    programmeId,
    segment,
    epoch,
    wrappedKey,
    createdAtMs: nowMs,
  });
  return openSegmentKey(ctx.secrets.masterKey, programmeId, segment, epoch, row.wrappedKey);
}

/**
 * The answer already given to (client, requestId), for an idempotent retry; a conflict when the id was used for
 * another request; undefined when the request is new.
 */
export async function storedAnswer<Body>(
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  req: { requestId: string; event: 'segment_key' | 'content_key'; programmeId: number; segment: number },
): Promise<Outcome<Body> | undefined> {
  const previous = await tx.log.findDelivered(auth.client.id, req.requestId);
  if (previous === undefined) return undefined;
  if (
    previous.event !== req.event ||
    previous.programmeId !== req.programmeId ||
    previous.segment !== req.segment
  ) {
    return deny('request_id_conflict', `requestId ${req.requestId} was already used for another request`);
  }
  return { ok: true, body: JSON.parse(previous.response!) as Body };
}

const FROM_LOG = Symbol('answered from the log');

/** Marks an answer replayed from the log (a retry): it goes out by unicast only, never multicast again. */
function answeredFromLog(body: SegmentKeyResponseBody): SegmentKeyResponseBody {
  return Object.assign({ ...body }, { [FROM_LOG]: true });
}

export function isAnsweredFromLog(body: SegmentKeyResponseBody): boolean {
  return (body as { [FROM_LOG]?: boolean })[FROM_LOG] === true;
}

/** The longest a `not_yet` answer tells a client to wait, and the wait before the sender has started. */
const NOT_YET_MAX_WAIT_MS = 60_000;
const NOT_YET_UNSTARTED_WAIT_MS = 1000;

/**
 * When segment `segment` (beyond latest + 1) will be published: a segment is published when the one before it goes
 * on the air, so the wait is until segment - 1 starts, estimated from the latest segment's start and the segment
 * length; at least 100 ms, at most a minute. Before the sender has started: a second.
 */
async function notYetRetryAfterMs(
  tx: StoreTx,
  p: ProgrammeRow,
  latest: SegmentIndex | undefined,
  segment: SegmentIndex,
  nowMs: number,
): Promise<number> {
  if (latest === undefined) return NOT_YET_UNSTARTED_WAIT_MS;
  const startMs = (await tx.contentKeys.segmentStartMs(p.id, latest)) ?? nowMs;
  const publishedAtMs = startMs + (segment - 1 - latest) * p.segmentLengthMs;
  return Math.min(NOT_YET_MAX_WAIT_MS, Math.max(100, Math.ceil(publishedAtMs - nowMs)));
}

/** A segment number from untrusted JSON: an integer 0..2^32-1, else undefined. */
export function validSegment(v: unknown): SegmentIndex | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
    ? (v as SegmentIndex)
    : undefined;
}

export function validProgrammeId(v: unknown): ProgrammeId | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffffffff
    ? (v as ProgrammeId)
    : undefined;
}

async function entitlementBasis(
  tx: StoreTx,
  auth: Authenticated,
  p: ProgrammeRow,
  segment: SegmentIndex,
): Promise<LogBasis | undefined> {
  if (p.pricing === 'session') return undefined; // content keys go under the session's group key, not a PSK
  if (p.pricing !== 'per_segment') {
    if (await tx.entitlements.hasSubscription(auth.client.id, p.serviceId, periodOf(auth.nowMs)))
      return 'subscription';
  }
  if (p.pricing !== 'subscription') {
    if (await tx.entitlements.hasSegment(auth.client.id, p.id, segment)) return 'per_segment';
  }
  return undefined;
}

/** POST /v1/keys/segment, inside the request's transaction. */
export async function deliverSegmentKey(
  ctx: ServerContext,
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  body: unknown,
): Promise<Outcome<SegmentKeyResponseBody>> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const requestId = b.requestId;
  if (typeof requestId !== 'string' || !REQUEST_ID_PATTERN.test(requestId)) {
    return deny('invalid_request', 'requestId must be 1..64 characters of [A-Za-z0-9._:-]');
  }
  const programmeId = validProgrammeId(b.programmeId);
  if (programmeId === undefined)
    return deny('invalid_request', 'programmeId must be an integer 1..4294967295');
  const segment = validSegment(b.segment);
  if (segment === undefined) return deny('unknown_segment', 'segment must be an integer 0..4294967295');
  if (b.delivery !== undefined && !SEGMENT_KEY_DELIVERIES.includes(b.delivery as SegmentKeyDelivery))
    return deny('invalid_request', `delivery must be one of ${SEGMENT_KEY_DELIVERIES.join(', ')}`);

  // An idempotent retry: the stored answer, with no new record (billed once).
  const stored = await storedAnswer<SegmentKeyResponseBody>(tx, auth, deny, {
    requestId,
    event: 'segment_key',
    programmeId,
    segment,
  });
  if (stored !== undefined) return stored.ok ? { ok: true, body: answeredFromLog(stored.body) } : stored;

  const p = await tx.programmes.get(programmeId);
  if (p === undefined) return deny('unknown_programme', `no programme ${programmeId}`);
  const basis = await entitlementBasis(tx, auth, p, segment);
  if (basis === undefined) {
    return deny(
      'not_entitled',
      `client ${auth.client.id} is not entitled to programme ${p.id} segment ${segment}`,
      {
        serviceId: p.serviceId,
      },
    );
  }
  const latest = await tx.contentKeys.latestSegment(p.id);
  if (segment > (latest ?? -1) + 1) {
    const retryAfterMs = await notYetRetryAfterMs(tx, p, latest, segment, auth.nowMs);
    return deny(
      'not_yet',
      `segment ${segment} is not yet published: the sender is at segment ${latest ?? 'none yet'}; ask again in ${retryAfterMs} ms`,
      { serviceId: p.serviceId },
      retryAfterMs,
    );
  }
  const psk = await segmentKey(ctx, tx, p.id, segment, CURRENT_EPOCH, auth.nowMs);
  const ctxIds = { clientId: auth.client.id, programmeId: p.id, segment, epoch: CURRENT_EPOCH };
  const response: SegmentKeyResponseBody = {
    requestId,
    programmeId: p.id,
    segment,
    epoch: CURRENT_EPOCH,
    wrappedKey: Buffer.from(wrapSegmentKeyForClient(auth.uk, psk, ctxIds)).toString('base64'),
  };
  psk.fill(0);
  await tx.log.append({
    timeMs: auth.nowMs,
    ...auth.subject,
    requestId,
    serviceId: p.serviceId,
    programmeId: p.id,
    segment,
    event: 'segment_key',
    outcome: 'delivered',
    code: null,
    basis,
    period: basis === 'subscription' ? periodOf(auth.nowMs) : null,
    detail: null,
    response: JSON.stringify(response),
  });
  return { ok: true, body: response };
}
