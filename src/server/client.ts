// KeyServerClient: the typed client of the key server's HTTP API, for receivers, senders and `keycast
// request-key`. Built from a credentials file; signs every request (src/keys/request-auth.ts); unwraps what it
// receives with the client key; checks the server's signature on key messages.
//
// Retries: on 503 (e.g. log_unavailable), a network error or a timeout it retries with bounded exponential
// backoff and full jitter, re-signing each attempt with a fresh nonce and the SAME requestId, so the server answers
// a repeat from its log and bills once. On any other answer (4xx included) it does not retry.
import { z } from 'zod';
import { randomRequestId } from '../crypto/random.js';
import { asKeyId, type KeyId } from '../ids.js';
import { deriveClientWrapKey, deriveRequestMacKey } from '../keys/client-key.js';
import { unwrapMemberKeyForClient } from '../keys/group/member-key.js';
import { unwrapContentKeyForClient } from '../keys/content-key.js';
import type { Credentials } from '../keys/credentials.js';
import { verifyKeyMessage } from '../keys/key-message-sign.js';
import { signRequest } from '../keys/request-auth.js';
import { unwrapSegmentKeyForClient } from '../keys/segment-key.js';
import { unwrapServiceKeyForClient } from '../keys/service-key.js';
import { KEY_CHANGE_MODES } from '../packet/key-phase.js';
import type { KeyMessage } from '../packet/key-message.js';
import { KEY_MESSAGE_PROFILE_NAMES, type KeyMessageProfile } from '../packet/profile-code.js';
import { isErrorCode, REMOVED_BY, type ErrorCode } from './errors.js';
import { networkErrorText, refusal, type ClientErrorCode, type Refusal } from './refusal.js';
import {
  GROUP_REKEY_MODES,
  type ContentKeyRequestBody,
  type GroupRekeyMode,
  type ProgrammeInfo,
} from './wire.js';

export type { ProgrammeInfo } from './wire.js';
export {
  CLIENT_ERROR_CODES,
  KeyServerRefusalError,
  describeRefusal,
  orThrow,
  type ClientErrorCode,
  type Refusal,
} from './refusal.js';

export interface SegmentKeyGranted {
  readonly ok: true;
  readonly requestId: string;
  readonly programmeId: number;
  readonly segment: number;
  readonly epoch: number;
  /** The programme segment key (PSK), 32 bytes. Secret. */
  readonly segmentKey: Uint8Array;
}

/** The key server put this client's copy of the segment key in a multicast segment_key message (claims 7, 8). */
export interface SegmentKeyOnTheAir {
  readonly ok: true;
  readonly delivery: 'multicast';
  readonly requestId: string;
  readonly programmeId: number;
  readonly segment: number;
  readonly epoch: number;
  /** The message on the key port that carries this client's entry (entry named by the client's id). */
  readonly messageSeq: number;
}

export interface ServiceKeyGranted {
  readonly ok: true;
  readonly requestId: string;
  readonly serviceId: number;
  readonly period: string;
  /** The service key (SK) of the period, 32 bytes. Secret. */
  readonly serviceKey: Uint8Array;
  /** The SK as delivered, wrapped under the client key (base64): safe to keep next to the credentials. */
  readonly wrappedKey: string;
}

export interface ContentKeyIssued {
  readonly ok: true;
  readonly requestId: string;
  readonly programmeId: number;
  readonly segment: number;
  readonly keyId: KeyId;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  /** SRTP master key and salt. Secret. */
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  /** The signed key message to multicast, as received (signature verified). */
  readonly keyMessage: Uint8Array;
  readonly message: KeyMessage;
  /** The signed segment_key message to multicast (the PSK under service keys), when the server gave one. */
  readonly segmentKeyMessage?: Uint8Array;
}

export interface SessionJoined {
  readonly ok: true;
  readonly requestId: string;
  readonly programmeId: number;
  /** = this client's id. */
  readonly memberId: number;
  readonly mode: GroupRekeyMode;
  /** The member key as answered: base64, wrapped under the client key (unwrapMemberKeyForClient opens it). */
  readonly memberKey: string;
  /** The same member key (32 B), already unwrapped and checked by the client. Secret. */
  readonly clearMemberKey: Uint8Array;
  readonly keepAliveIntervalMs: number;
  readonly expiryMs: number;
  readonly ackTimeoutMs: number;
  readonly groupEpoch: number;
  /** Signed group_rekey datagrams carrying what this member needs to reach groupEpoch (empty in batch mode). */
  readonly rekey: readonly Uint8Array[];
}

/** A requestId for an idempotent retry (a string, or { requestId }); a fresh random one when absent. */
export type RequestIdOption = string | { readonly requestId?: string };
const requestIdOf = (o: RequestIdOption): string =>
  typeof o === 'string' ? o : (o.requestId ?? randomRequestId());

export interface SessionAcked {
  readonly ok: true;
  readonly programmeId: number;
  readonly groupEpoch: number;
}

export interface SessionKeptAlive {
  readonly ok: true;
  readonly programmeId: number;
  readonly groupEpoch: number;
  readonly keepAliveIntervalMs: number;
}

export interface SessionLeft {
  readonly ok: true;
  readonly programmeId: number;
  readonly leftAtMs: number;
}

export interface SessionKeys {
  readonly ok: true;
  readonly programmeId: number;
  readonly groupEpoch: number;
  readonly rekey: readonly Uint8Array[];
}

export interface ContentKeyRequest extends Omit<ContentKeyRequestBody, 'requestId'> {
  readonly requestId?: string;
}

export interface KeyServerClientOptions {
  /** Default: the credentials' serverUrl. */
  readonly serverUrl?: string;
  readonly fetch?: typeof fetch;
  /** Per attempt. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts in all, including the first. Default 4. */
  readonly maxAttempts?: number;
  /** Backoff before attempt n+1 is uniform in [0, min(maxDelayMs, baseDelayMs·2^(n-1))]. Defaults 100 and 2000. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const u32 = z.int().min(0).max(0xffffffff);
const programmeSchema = z.object({
  id: u32,
  serviceId: u32,
  name: z.string(),
  group: z.string(),
  port: z.int().min(1).max(65535),
  keyPort: z.int().min(1).max(65535),
  profile: z.enum(KEY_MESSAGE_PROFILE_NAMES as [KeyMessageProfile, ...KeyMessageProfile[]]),
  mkiLengthBytes: z.int().min(0).max(4),
  // Absent from a key server older than claim 29's support: those programmes use the MKI.
  keyChange: z.enum(KEY_CHANGE_MODES).default('mki'),
  segmentLengthMs: z.int().min(1),
  cryptoPeriodMs: z.int().min(1),
  pricing: z.enum(['subscription', 'per_segment', 'both', 'session']),
  latestSegment: u32.nullable(),
});
const segmentKeySchema = z.object({
  requestId: z.string(),
  programmeId: u32,
  segment: u32,
  epoch: z.int().min(0).max(0xffff),
  delivery: z.literal('unicast').optional(),
  wrappedKey: b64,
});
const segmentKeyOnTheAirSchema = z.object({
  requestId: z.string(),
  programmeId: u32,
  segment: u32,
  epoch: z.int().min(0).max(0xffff),
  delivery: z.literal('multicast'),
  messageSeq: u32,
});
const serviceKeySchema = z.object({
  requestId: z.string(),
  serviceId: u32,
  period: z.string(),
  wrappedKey: b64,
});
const contentKeySchema = z.object({
  keyId: u32,
  segment: u32,
  programmeId: u32,
  profile: z.enum(KEY_MESSAGE_PROFILE_NAMES as [KeyMessageProfile, ...KeyMessageProfile[]]),
  mkiLengthBytes: z.int().min(0).max(4),
  wrappedContentKey: b64,
  keyMessage: b64,
  segmentKeyMessage: b64.nullable().optional(),
});
const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryAfterMs: z.int().min(0).max(3_600_000).optional(),
    removedBy: z.enum(REMOVED_BY).optional(),
    removedAtMs: z.int().min(0).optional(),
  }),
});
const rekeyModes = z.enum(GROUP_REKEY_MODES);
const joinSchema = z.object({
  requestId: z.string(),
  programmeId: u32,
  memberId: u32,
  mode: rekeyModes,
  memberKey: b64,
  keepAliveIntervalMs: z.int().min(1),
  expiryMs: z.int().min(1),
  ackTimeoutMs: z.int().min(1),
  groupEpoch: u32,
  rekey: z.array(b64),
});
const ackSchema = z.object({ programmeId: u32, groupEpoch: u32 });
const keepAliveSchema = z.object({ programmeId: u32, groupEpoch: u32, keepAliveIntervalMs: z.int().min(1) });
const leaveSchema = z.object({ programmeId: u32, leftAtMs: z.int().min(0) });
const sessionKeysSchema = z.object({ programmeId: u32, groupEpoch: u32, rekey: z.array(b64) });

type Answer = { readonly ok: true; readonly status: number; readonly json: unknown } | Refusal;

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

export class KeyServerClient {
  readonly credentials: Credentials;
  readonly #macKey: Uint8Array;
  readonly #base: URL;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  /** The key server's URL, as used in requests and named in refusals. */
  get serverUrl(): string {
    return this.#base.href.replace(/\/$/, '');
  }

  #refusal(code: ErrorCode | ClientErrorCode, status: number, message: string): Refusal {
    return { ...refusal(code, status, message), serverUrl: this.serverUrl };
  }

  constructor(credentials: Credentials, opts: KeyServerClientOptions = {}) {
    this.credentials = credentials;
    this.#macKey = deriveRequestMacKey(credentials.clientKey);
    this.#base = new URL(opts.serverUrl ?? credentials.serverUrl);
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.#baseDelayMs = opts.baseDelayMs ?? 100;
    this.#maxDelayMs = opts.maxDelayMs ?? 2000;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async getProgramme(
    programmeId: number,
  ): Promise<{ readonly ok: true; readonly programme: ProgrammeInfo } | Refusal> {
    const a = await this.#request('GET', `/v1/programmes/${programmeId}`, undefined);
    if (!a.ok) return a;
    const p = programmeSchema.safeParse(a.json);
    return p.success
      ? { ok: true, programme: p.data }
      : this.#refusal('bad_response', a.status, 'malformed programme');
  }

  /** Asks for the segment key of (programme, segment); unwraps it with the client key. */
  async requestSegmentKey(
    programmeId: number,
    segment: number,
    requestId: string = randomRequestId(),
  ): Promise<SegmentKeyGranted | Refusal> {
    const a = await this.#request('POST', '/v1/keys/segment', { programmeId, segment, requestId });
    if (!a.ok) return a;
    return this.#segmentKeyGranted(a, programmeId, segment, requestId);
  }

  /**
   * Asks for a segment key accepting multicast delivery: the key server gathers the clients asking within a short
   * window and multicasts their copies in one message (claims 7, 8, 30-32), or answers by unicast when this client
   * was alone. The caller listens on the key port for the message; if it misses it, `requestSegmentKey` with the
   * same requestId gets the same key by unicast from the log (billed once).
   */
  async requestSegmentKeyByMulticast(
    programmeId: number,
    segment: number,
    requestId: string = randomRequestId(),
  ): Promise<SegmentKeyGranted | SegmentKeyOnTheAir | Refusal> {
    const body = { programmeId, segment, requestId, delivery: 'multicast' };
    const a = await this.#request('POST', '/v1/keys/segment', body);
    if (!a.ok) return a;
    const air = segmentKeyOnTheAirSchema.safeParse(a.json);
    if (!air.success) return this.#segmentKeyGranted(a, programmeId, segment, requestId);
    const d = air.data;
    if (d.programmeId !== programmeId || d.segment !== segment || d.requestId !== requestId)
      return this.#refusal('bad_response', a.status, 'malformed segment key answer');
    return {
      ok: true,
      delivery: 'multicast',
      requestId,
      programmeId,
      segment,
      epoch: d.epoch,
      messageSeq: d.messageSeq,
    };
  }

  #segmentKeyGranted(
    a: Extract<Answer, { ok: true }>,
    programmeId: number,
    segment: number,
    requestId: string,
  ): SegmentKeyGranted | Refusal {
    const r = segmentKeySchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId || r.data.segment !== segment) {
      return this.#refusal('bad_response', a.status, 'malformed segment key answer');
    }
    const ctx = { clientId: this.credentials.clientId, programmeId, segment, epoch: r.data.epoch };
    const u = unwrapSegmentKeyForClient(this.credentials.clientKey, bytes(r.data.wrappedKey), ctx);
    if (!u.ok) return this.#refusal('bad_key', a.status, `the segment key does not unwrap (${u.reason})`);
    return { ok: true, requestId, programmeId, segment, epoch: r.data.epoch, segmentKey: u.key };
  }

  /** Buys a subscription to `serviceId` for `period` (YYYY-MM); the answer carries the period's service key. */
  purchaseSubscription(
    serviceId: number,
    period: string,
    requestId: string = randomRequestId(),
  ): Promise<ServiceKeyGranted | Refusal> {
    return this.#serviceKey('/v1/purchases/subscription', serviceId, period, requestId);
  }

  /** The service key of a period the client holds a subscription for. */
  requestServiceKey(
    serviceId: number,
    period: string,
    requestId: string = randomRequestId(),
  ): Promise<ServiceKeyGranted | Refusal> {
    return this.#serviceKey('/v1/keys/service', serviceId, period, requestId);
  }

  async #serviceKey(
    path: string,
    serviceId: number,
    period: string,
    requestId: string,
  ): Promise<ServiceKeyGranted | Refusal> {
    const a = await this.#request('POST', path, { serviceId, period, requestId });
    if (!a.ok) return a;
    const r = serviceKeySchema.safeParse(a.json);
    if (!r.success || r.data.serviceId !== serviceId || r.data.period !== period) {
      return this.#refusal('bad_response', a.status, 'malformed service key answer');
    }
    const opened = openWrappedServiceKey(this.credentials, {
      serviceId,
      period,
      wrappedKey: r.data.wrappedKey,
    });
    if (!opened.ok)
      return this.#refusal('bad_key', a.status, `the service key does not unwrap (${opened.reason})`);
    return { ok: true, requestId, serviceId, period, serviceKey: opened.key, wrappedKey: r.data.wrappedKey };
  }

  /** Sender only: a new content key for (programme, segment) and its signed key message. */
  async issueContentKey(req: ContentKeyRequest): Promise<ContentKeyIssued | Refusal> {
    const requestId = req.requestId ?? randomRequestId();
    const a = await this.#request('POST', '/v1/sender/content-keys', { ...req, requestId });
    if (!a.ok) return a;
    const r = contentKeySchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== req.programmeId || r.data.segment !== req.segment) {
      return this.#refusal('bad_response', a.status, 'malformed content key answer');
    }
    const d = r.data;
    const ck = unwrapContentKeyForClient(
      this.credentials.clientKey,
      bytes(d.wrappedContentKey),
      d.profile,
      this.credentials.clientId,
      d.programmeId,
      d.keyId,
    );
    if (!ck.ok) return this.#refusal('bad_key', a.status, `the content key does not unwrap (${ck.reason})`);
    const keyMessage = bytes(d.keyMessage);
    const v = verifyKeyMessage(keyMessage, this.credentials.serverPublicKey);
    if (!v.ok) return this.#refusal('bad_key', a.status, `the key message does not verify (${v.reason})`);
    const m = v.msg;
    if (
      m.type !== 'content_key' ||
      m.keyId !== d.keyId ||
      m.programmeId !== d.programmeId ||
      m.ssrc !== req.ssrc ||
      m.profile !== d.profile
    ) {
      return this.#refusal('bad_key', a.status, 'the key message does not match the answer');
    }
    let segmentKeyMessage: Uint8Array | undefined;
    if (typeof d.segmentKeyMessage === 'string') {
      segmentKeyMessage = bytes(d.segmentKeyMessage);
      const s = verifyKeyMessage(segmentKeyMessage, this.credentials.serverPublicKey);
      if (
        !s.ok ||
        s.msg.type !== 'segment_key' ||
        s.msg.programmeId !== d.programmeId ||
        s.msg.segment !== d.segment
      ) {
        return this.#refusal(
          'bad_key',
          a.status,
          'the segment key message does not verify or match the answer',
        );
      }
    }
    return {
      ok: true,
      requestId,
      programmeId: d.programmeId,
      segment: d.segment,
      keyId: asKeyId(d.keyId),
      profile: d.profile,
      mkiLengthBytes: d.mkiLengthBytes,
      masterKey: ck.key.masterKey,
      masterSalt: ck.key.masterSalt,
      keyMessage,
      message: m,
      ...(segmentKeyMessage !== undefined && { segmentKeyMessage }),
    };
  }

  // ---- sessions (docs/membership.md; claims 13-24) ----

  /**
   * Joins the session of a programme priced `session` (claims 13-15). The answer carries this member's key, already
   * unwrapped with the client key, and the signed group_rekey datagrams (verify and apply them with
   * applyGroupRekeyDatagram on a GroupKeyRing built from the member key). Retry with the same requestId.
   */
  async joinSession(programmeId: number, opts: RequestIdOption = {}): Promise<SessionJoined | Refusal> {
    const requestId = requestIdOf(opts);
    const a = await this.#request('POST', '/v1/sessions/join', { programmeId, requestId });
    if (!a.ok) return a;
    const r = joinSchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId || r.data.memberId !== this.credentials.clientId)
      return this.#refusal('bad_response', a.status, 'malformed join answer');
    const d = r.data;
    const wrapKey = deriveClientWrapKey(this.credentials.clientKey);
    const u = unwrapMemberKeyForClient(wrapKey, this.credentials.clientId, programmeId, bytes(d.memberKey));
    wrapKey.fill(0);
    if (!u.ok) return this.#refusal('bad_key', a.status, `the member key does not unwrap (${u.reason})`);
    return {
      ok: true,
      requestId,
      programmeId,
      memberId: d.memberId,
      mode: d.mode,
      memberKey: d.memberKey,
      clearMemberKey: u.key,
      keepAliveIntervalMs: d.keepAliveIntervalMs,
      expiryMs: d.expiryMs,
      ackTimeoutMs: d.ackTimeoutMs,
      groupEpoch: d.groupEpoch,
      rekey: d.rekey.map(bytes),
    };
  }

  /** Confirms group epoch `groupEpoch` (and every earlier one) of the programme's session (claim 20). */
  async ackGroupKey(programmeId: number, groupEpoch: number): Promise<SessionAcked | Refusal> {
    const a = await this.#request('POST', '/v1/sessions/ack', { programmeId, groupEpoch });
    if (!a.ok) return a;
    const r = ackSchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId)
      return this.#refusal('bad_response', a.status, 'malformed ack answer');
    return { ok: true, programmeId, groupEpoch: r.data.groupEpoch };
  }

  /** A keep-alive for the programme's session (claim 22); the answer names the current group epoch. */
  async keepAlive(programmeId: number): Promise<SessionKeptAlive | Refusal> {
    const a = await this.#request('POST', '/v1/sessions/keepalive', { programmeId });
    if (!a.ok) return a;
    const r = keepAliveSchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId)
      return this.#refusal('bad_response', a.status, 'malformed keep-alive answer');
    return { ok: true, ...r.data };
  }

  /** Leaves the programme's session (claim 16): billing stops at `leftAtMs`. Retry with the same requestId. */
  async leaveSession(programmeId: number, opts: RequestIdOption = {}): Promise<SessionLeft | Refusal> {
    const requestId = requestIdOf(opts);
    const a = await this.#request('POST', '/v1/sessions/leave', { programmeId, requestId });
    if (!a.ok) return a;
    const r = leaveSchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId)
      return this.#refusal('bad_response', a.status, 'malformed leave answer');
    return { ok: true, programmeId, leftAtMs: r.data.leftAtMs };
  }

  /** The signed group_rekey datagrams that bring this member to the current group key (unicast fallback). */
  async sessionKeys(programmeId: number): Promise<SessionKeys | Refusal> {
    const a = await this.#request('POST', '/v1/sessions/keys', { programmeId });
    if (!a.ok) return a;
    const r = sessionKeysSchema.safeParse(a.json);
    if (!r.success || r.data.programmeId !== programmeId)
      return this.#refusal('bad_response', a.status, 'malformed session keys answer');
    return { ok: true, programmeId, groupEpoch: r.data.groupEpoch, rekey: r.data.rekey.map(bytes) };
  }

  async #request(method: 'GET' | 'POST', path: string, body: object | undefined): Promise<Answer> {
    const url = new URL(
      path.replace(/^\//, ''),
      this.#base.href.endsWith('/') ? this.#base : `${this.#base.href}/`,
    );
    const text = body === undefined ? '' : JSON.stringify(body);
    let last: Refusal = this.#refusal('network_error', 0, 'no attempt made');
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (attempt > 1) {
        const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 2));
        await this.#sleep(Math.floor(this.#random() * cap));
      }
      const headers: Record<string, string> = signRequest(this.#macKey, this.credentials.clientId, {
        method,
        path: url.pathname + url.search,
        body: text,
        timestampMs: this.#now(),
      });
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: text }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        last = timedOut
          ? this.#refusal('timeout', 0, `no answer within ${this.#timeoutMs} ms`)
          : this.#refusal('network_error', 0, networkErrorText(err));
        continue;
      }
      let json: unknown;
      try {
        json = await res.json();
      } catch {
        json = undefined;
      }
      if (res.ok) return { ok: true, status: res.status, json };
      const e = errorSchema.safeParse(json);
      if (e.success && isErrorCode(e.data.error.code)) {
        const { code, message, retryAfterMs, removedBy, removedAtMs } = e.data.error;
        last = this.#refusal(code, res.status, message);
        if (retryAfterMs !== undefined) last = { ...last, retryAfterMs };
        if (removedBy !== undefined) last = { ...last, removedBy };
        if (removedAtMs !== undefined) last = { ...last, removedAtMs };
      } else {
        last = this.#refusal('bad_response', res.status, `HTTP ${res.status} without a keycast error body`);
      }
      if (res.status !== 503) return last;
    }
    return last;
  }
}

/** Opens a service key as delivered (wrapped under the client key), e.g. one kept from a purchase. */
export function openWrappedServiceKey(
  credentials: Credentials,
  w: { readonly serviceId: number; readonly period: string; readonly wrappedKey: string },
): { ok: true; key: Uint8Array } | { ok: false; reason: string } {
  const ctx = { clientId: credentials.clientId, serviceId: w.serviceId, period: w.period };
  return unwrapServiceKeyForClient(credentials.clientKey, bytes(w.wrappedKey), ctx);
}
