// One client request = one store transaction: authenticate (client, MAC, timestamp window, nonce), run the route's
// work, and append the log record, all committed together. A refusal is logged as a denial and committed; the
// route then answers with the error. If the log cannot be written, the transaction rolls back and nothing but a
// log_unavailable error leaves (log before deliver).
import type { FastifyRequest } from 'fastify';
import {
  asClientId,
  type ClientId,
  type KeyId,
  type ProgrammeId,
  type SegmentIndex,
  type ServiceId,
} from '../ids.js';
import { deriveRequestMacKey } from '../keys/client-key.js';
import {
  isFreshTimestamp,
  parseAuthHeaders,
  REQUEST_WINDOW_MS,
  verifyRequestMac,
} from '../keys/request-auth.js';
import type { ClientRow, LogEvent, LogInput, LogTable, StoreTx } from '../store/types.js';
import { openClientKey } from '../store/vault.js';
import type { ServerContext } from './context.js';
import { KeyServerError, type ErrorCode } from './errors.js';
import { REQUEST_ID_PATTERN } from './wire.js';

/** Identifiers a record is about, as far as they are known (claimed ones for denials). */
export interface Subject {
  readonly requestId: string | null;
  readonly clientId: ClientId | null;
  readonly authenticated: boolean;
  readonly serviceId: ServiceId | null;
  readonly programmeId: ProgrammeId | null;
  readonly segment: SegmentIndex | null;
  readonly keyId: KeyId | null;
}

export type Outcome<T> =
  { readonly ok: true; readonly body: T } | { readonly ok: false; readonly error: KeyServerError };

export interface Authenticated {
  readonly client: ClientRow;
  /** The client's key, unwrapped from the store for this request only. */
  readonly uk: Uint8Array;
  readonly nowMs: number;
  readonly subject: Subject;
}

/** The route's work once the client is authenticated; runs inside the request's transaction. */
export type ClientWork<T> = (tx: StoreTx, auth: Authenticated, deny: Deny) => Promise<Outcome<T>>;
export type Deny = (
  code: ErrorCode,
  message: string,
  subject?: Partial<Subject>,
  retryAfterMs?: number,
) => Promise<Outcome<never>>;

const u32 = (v: unknown): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : null;

/** The identifiers a body claims, for the log of a denial; anything malformed is left out. */
export function claimedSubject(body: unknown): Partial<Subject> {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const programmeId = u32(b.programmeId);
  const segment = u32(b.segment);
  const requestId =
    typeof b.requestId === 'string' && REQUEST_ID_PATTERN.test(b.requestId) ? b.requestId : null;
  return {
    requestId,
    programmeId: programmeId === null ? null : (programmeId as ProgrammeId),
    segment: segment === null ? null : (segment as SegmentIndex),
  };
}

function record(nowMs: number, event: LogEvent, s: Subject, outcome: 'denied', code: ErrorCode): LogInput {
  return {
    timeMs: nowMs,
    ...s,
    event,
    outcome,
    code,
    basis: null,
    period: null,
    detail: null,
    response: null,
  };
}

/** The log with append failures turned into log_unavailable (503): no key leaves when the log cannot be written. */
function guardedLog(log: LogTable, req: FastifyRequest): LogTable {
  return {
    ...log,
    append: (input) =>
      log.append(input).catch((err: unknown) => {
        req.log.error({ err }, 'request log write failed; nothing delivered');
        throw new KeyServerError('log_unavailable', 'the request log cannot be written; try again');
      }),
  };
}

/** Runs one authenticated client request (see the file comment); throws the refusal after committing it. */
export async function runClientRequest<T>(
  ctx: ServerContext,
  req: FastifyRequest,
  event: LogEvent,
  work: ClientWork<T>,
): Promise<T> {
  const outcome = await ctx.store.transact(async (rawTx): Promise<Outcome<T>> => {
    const tx: StoreTx = { ...rawTx, log: guardedLog(rawTx.log, req) };
    const nowMs = ctx.now();
    let subject: Subject = {
      requestId: null,
      clientId: null,
      authenticated: false,
      serviceId: null,
      programmeId: null,
      segment: null,
      keyId: null,
      ...claimedSubject(req.body),
    };
    const deny: Deny = async (code, message, more = {}, retryAfterMs) => {
      await tx.log.append(record(nowMs, event, { ...subject, ...more }, 'denied', code));
      return { ok: false, error: new KeyServerError(code, message, retryAfterMs) };
    };

    const parsed = parseAuthHeaders(req.headers);
    if (!parsed.ok) {
      subject = { ...subject, clientId: parsed.clientId ?? null };
      return parsed.reason === 'unknown_client'
        ? deny('unknown_client', 'missing or malformed x-keycast-client')
        : deny('bad_mac', 'missing or malformed authentication headers');
    }
    const { auth } = parsed;
    subject = { ...subject, clientId: auth.clientId };
    const client = await tx.clients.get(auth.clientId);
    if (client === undefined) return deny('unknown_client', `no client ${auth.clientId}`);

    const uk = openClientKey(ctx.secrets.masterKey, client.id, client.wrappedKey);
    try {
      const macKey = deriveRequestMacKey(uk);
      const signed = {
        method: req.method,
        path: req.url,
        timestampMs: auth.timestampMs,
        nonceHex: auth.nonceHex,
        body: req.rawBody ?? new Uint8Array(0),
      };
      const macOk = verifyRequestMac(macKey, signed, auth.mac);
      macKey.fill(0);
      if (!macOk) return await deny('bad_mac', 'request MAC does not verify');
      if (!isFreshTimestamp(auth.timestampMs, nowMs)) {
        const windowS = REQUEST_WINDOW_MS / 1000;
        return await deny('stale_request', `timestamp is more than ${windowS} s from the server's clock`);
      }
      await tx.nonces.prune(nowMs); // an indexed range delete of the expired few
      const expiresAtMs = Math.max(auth.timestampMs, nowMs) + REQUEST_WINDOW_MS;
      if (!(await tx.nonces.remember(client.id, auth.nonceHex, expiresAtMs))) {
        return await deny('replayed_request', 'this nonce was already used; sign each attempt afresh');
      }
      subject = { ...subject, clientId: asClientId(client.id), authenticated: true };
      return await work(tx, { client, uk, nowMs, subject }, deny);
    } finally {
      uk.fill(0); // the client key lives only for this request
    }
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.body;
}
