// Issuing content keys to the sender (claims 1, 4). The key server generates the CK (SRTP master key and salt),
// allocates its key id (per programme, from 1, never reused), stores it under the master key, and answers with the
// CK wrapped for the sender and a signed content_key key message whose entry is the CK wrapped under the segment's
// PSK — the message the sender multicasts. Segments only move forward per programme.
//
// Rollover (claim 12): the first content key of segment s, when the programme's previous content key belonged to
// segment s - 1, is wrapped twice in its one message: under PSK(s) and under PSK(s - 1). The sender puts it on the
// air at least its lead before the boundary and repeats it, so a receiver that holds either segment key has the
// next content key before the first packet of s; the receiver's policy decides when the copy under PSK(s - 1) may
// be used (src/receiver/rollover.ts). The key belongs to s, the newest segment its entries name.
//
// When the programme may be watched on a subscription, the answer also carries a signed segment_key message: the
// segment's PSK wrapped under the service key (SK) of the current period, and under the next period's SK as well
// when the message is still on the air within one segment of the period change (claim 9). The sender multicasts
// it with the content keys, so a subscriber holding the SK never asks for a segment key. Its validity is the
// content key's: the sender carries the newest one for the segment (one per crypto period, a fresh messageSeq).
import { asKeyId, asSsrc } from '../ids.js';
import {
  GROUP_KEY_WRAP_KEY_ID,
  generateContentKey,
  wrapContentKeyForClient,
  wrapContentKeyUnderGroupKey,
  wrapContentKeyUnderSegmentKey,
} from '../keys/content-key.js';
import { signKeyMessage } from '../keys/key-message-sign.js';
import {
  nextPeriod,
  periodNumber,
  periodOf,
  periodStartMs,
  wrapSegmentKeyUnderServiceKey,
} from '../keys/service-key.js';
import type { KeyEntry } from '../packet/key-message.js';
import type { StoreTx } from '../store/types.js';
import { sealContentKey } from '../store/vault.js';
import type { Authenticated, Deny, Outcome } from './authenticate.js';
import type { ServerContext } from './context.js';
import { CURRENT_EPOCH, segmentKey, storedAnswer, validProgrammeId, validSegment } from './segment-keys.js';
import { serviceKey } from './service-keys.js';
import { REQUEST_ID_PATTERN, type ContentKeyResponseBody } from './wire.js';

/** How far beyond the programme's latest segment a sender may open one (segment_too_far, docs/errors.md). */
export const MAX_SEGMENT_STEP = 64;

const isUint = (v: unknown, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/** POST /v1/sender/content-keys, inside the request's transaction. */
export async function issueContentKey(
  ctx: ServerContext,
  tx: StoreTx,
  auth: Authenticated,
  deny: Deny,
  body: unknown,
): Promise<Outcome<ContentKeyResponseBody>> {
  if (auth.client.role !== 'sender') return deny('forbidden_role', 'only a sender may ask for content keys');
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const requestId = b.requestId ?? null;
  if (requestId !== null && (typeof requestId !== 'string' || !REQUEST_ID_PATTERN.test(requestId))) {
    return deny('invalid_request', 'requestId must be 1..64 characters of [A-Za-z0-9._:-]');
  }
  const programmeId = validProgrammeId(b.programmeId);
  if (programmeId === undefined)
    return deny('invalid_request', 'programmeId must be an integer 1..4294967295');
  const segment = validSegment(b.segment);
  if (segment === undefined) return deny('unknown_segment', 'segment must be an integer 0..4294967295');
  const { ssrc, roc, seq, activatesAtMs, expiresAtMs } = b;
  if (!isUint(ssrc, 0xffffffff) || !isUint(roc, 0xffffffff) || !isUint(seq, 0xffff)) {
    return deny('invalid_request', 'ssrc and roc must be u32 and seq u16');
  }
  if (
    !isUint(activatesAtMs, Number.MAX_SAFE_INTEGER) ||
    !isUint(expiresAtMs, Number.MAX_SAFE_INTEGER) ||
    expiresAtMs <= activatesAtMs
  ) {
    return deny(
      'invalid_request',
      'activatesAtMs and expiresAtMs must be Unix ms with activatesAtMs < expiresAtMs',
    );
  }

  if (requestId !== null) {
    const stored = await storedAnswer<ContentKeyResponseBody>(tx, auth, deny, {
      requestId,
      event: 'content_key',
      programmeId,
      segment,
    });
    if (stored !== undefined) return stored;
  }

  const p = await tx.programmes.get(programmeId);
  if (p === undefined) return deny('unknown_programme', `no programme ${programmeId}`);
  const latest = await tx.contentKeys.latestSegment(p.id);
  if (latest !== undefined && segment < latest) {
    return deny('segment_not_monotonic', `segment ${segment} is behind the programme's segment ${latest}`, {
      serviceId: p.serviceId,
    });
  }
  // A sender moves one segment at a time (more only across a jump in its input's clock). A segment far ahead would
  // publish the keys of every segment up to it at once (receivers' not_yet is measured from the latest segment).
  const furthest = (latest ?? -1) + MAX_SEGMENT_STEP;
  if (segment > furthest) {
    return deny(
      'segment_too_far',
      `segment ${segment} is more than ${MAX_SEGMENT_STEP} segments beyond the programme's ` +
        (latest === undefined ? 'start (segment 0)' : `segment ${latest}`),
      { serviceId: p.serviceId },
    );
  }

  if (p.pricing === 'session') {
    const waitMs = ctx.sessions?.contentKeyWaitMs(p);
    if (waitMs !== undefined) {
      return deny(
        'members_rejoining',
        `the key server restarted and members of the session have not joined again yet: a content key now would ` +
          `reach none of them; ask again in ${waitMs} ms`,
        { serviceId: p.serviceId },
        waitMs,
      );
    }
  }

  const keyId = await tx.programmes.allocateKeyId(p.id);
  const ck = generateContentKey(p.profile);
  await tx.contentKeys.insert({
    programmeId: p.id,
    keyId,
    segment,
    epoch: CURRENT_EPOCH,
    ssrc: asSsrc(ssrc),
    roc,
    seq,
    activatesAtMs,
    expiresAtMs,
    wrappedKey: sealContentKey(ctx.secrets.masterKey, p.id, keyId, ck, p.profile),
    createdAtMs: auth.nowMs,
  });
  const entries: KeyEntry[] = [];
  let psk: Uint8Array | undefined;
  if (p.pricing === 'session') {
    // Sold per session (docs/membership.md): one entry, the CK under the group key current now (after any waiting
    // removal's rekey), so only the members of the session can open it.
    if (ctx.sessions === undefined) throw new Error('session programme without a session manager');
    const gk = await ctx.sessions.groupKeyForContentKey(tx, p);
    const wrapped = wrapContentKeyUnderGroupKey(gk.key, ck, p.profile, p.id, gk.epoch, keyId);
    gk.key.fill(0);
    entries.push({ wrapKind: 'group', wrapKeyId: GROUP_KEY_WRAP_KEY_ID, epoch: gk.epoch & 0xffff, wrapped });
  } else {
    psk = await segmentKey(ctx, tx, p.id, segment, CURRENT_EPOCH, auth.nowMs);
    const wrappedUnderPsk = wrapContentKeyUnderSegmentKey(psk, ck, p.profile, {
      programmeId: p.id,
      segment,
      epoch: CURRENT_EPOCH,
      keyId,
    });
    entries.push({ wrapKind: 'psk', wrapKeyId: segment, epoch: CURRENT_EPOCH, wrapped: wrappedUnderPsk });
    if (latest !== undefined && segment === latest + 1) {
      const previous = await segmentKey(ctx, tx, p.id, latest, CURRENT_EPOCH, auth.nowMs);
      const wrapped = wrapContentKeyUnderSegmentKey(previous, ck, p.profile, {
        programmeId: p.id,
        segment: latest,
        epoch: CURRENT_EPOCH,
        keyId,
      });
      previous.fill(0);
      entries.push({ wrapKind: 'psk', wrapKeyId: latest, epoch: CURRENT_EPOCH, wrapped });
    }
  }
  const messageSeq = await tx.programmes.allocateMessageSeq(p.id);
  let segmentKeyMessage: Uint8Array | null = null;
  if (psk !== undefined && (p.pricing === 'subscription' || p.pricing === 'both')) {
    const current = periodOf(auth.nowMs);
    const periods = [current];
    if (expiresAtMs + p.segmentLengthMs >= periodStartMs(nextPeriod(current)))
      periods.push(nextPeriod(current));
    const skEntries: KeyEntry[] = [];
    for (const period of periods) {
      const sk = await serviceKey(ctx, tx, p.serviceId, period, auth.nowMs);
      const wrapped = wrapSegmentKeyUnderServiceKey(sk, psk, {
        serviceId: p.serviceId,
        period,
        programmeId: p.id,
        segment,
        epoch: CURRENT_EPOCH,
      });
      sk.fill(0);
      skEntries.push({ wrapKind: 'service', wrapKeyId: p.serviceId, epoch: periodNumber(period), wrapped });
    }
    segmentKeyMessage = signKeyMessage(
      {
        type: 'segment_key',
        programmeId: p.id,
        messageSeq: await tx.programmes.allocateMessageSeq(p.id),
        issuedAtMs: auth.nowMs,
        segment,
        epoch: CURRENT_EPOCH,
        activatesAtMs,
        expiresAtMs,
        entries: skEntries,
      },
      ctx.secrets.signing.privateKey,
    );
  }
  psk?.fill(0);
  const keyMessage = signKeyMessage(
    {
      type: 'content_key',
      programmeId: p.id,
      messageSeq,
      issuedAtMs: auth.nowMs,
      keyId: asKeyId(keyId),
      ssrc: asSsrc(ssrc),
      roc,
      seq,
      profile: p.profile,
      mkiLengthBytes: p.mkiLengthBytes,
      activatesAtMs,
      expiresAtMs,
      entries,
    },
    ctx.secrets.signing.privateKey,
  );
  const response: ContentKeyResponseBody = {
    requestId,
    programmeId: p.id,
    segment,
    keyId,
    profile: p.profile,
    mkiLengthBytes: p.mkiLengthBytes,
    wrappedContentKey: Buffer.from(
      wrapContentKeyForClient(auth.uk, ck, p.profile, auth.client.id, p.id, keyId),
    ).toString('base64'),
    keyMessage: Buffer.from(keyMessage).toString('base64'),
    segmentKeyMessage: segmentKeyMessage === null ? null : Buffer.from(segmentKeyMessage).toString('base64'),
  };
  ck.masterKey.fill(0);
  ck.masterSalt.fill(0);
  await tx.log.append({
    timeMs: auth.nowMs,
    ...auth.subject,
    requestId,
    serviceId: p.serviceId,
    programmeId: p.id,
    segment,
    keyId,
    event: 'content_key',
    outcome: 'delivered',
    code: null,
    basis: null,
    period: null,
    detail: null,
    response: JSON.stringify(response),
  });
  return { ok: true, body: response };
}
