// Refusals: what a key-server call returns instead of a result — the server's own refusal (docs/errors.md) or a
// failure on the client's side — and the words an operator reads for one.
import { ERROR_CODES, isErrorCode, type ErrorCode, type RemovedBy } from './errors.js';

/** Failures found on the client side (status 0 when there was no HTTP answer). Documented in docs/errors.md. */
export const CLIENT_ERROR_CODES = {
  network_error: { retryable: true },
  timeout: { retryable: true },
  bad_response: { retryable: false },
  bad_key: { retryable: false },
} as const;
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

export interface Refusal {
  readonly ok: false;
  readonly code: ErrorCode | ClientErrorCode;
  /** HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** Whether asking again later may succeed (the client has already retried what it retries itself). */
  readonly retryable: boolean;
  readonly message: string;
  /** The key server's URL the request went to (set by KeyServerClient; absent in refusals made elsewhere). */
  readonly serverUrl?: string;
  /** For `not_yet`: ask again after this many ms (the server's `error.retryAfterMs`). */
  readonly retryAfterMs?: number;
  /** For `revoked`: what removed this client from the session (leave, keepalive or ack). */
  readonly removedBy?: RemovedBy;
  /** For `revoked`: Unix ms of the removal record (the billing stop). */
  readonly removedAtMs?: number;
}

export function refusal(code: ErrorCode | ClientErrorCode, status: number, message: string): Refusal {
  const retryable = isErrorCode(code) ? ERROR_CODES[code].retryable : CLIENT_ERROR_CODES[code].retryable;
  return { ok: false, code, status, retryable, message };
}

/** What went wrong when fetch threw: its message and, if any, its cause's (e.g. "connect ECONNREFUSED ..."). */
export function networkErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  const detail = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
  return detail === '' || detail === err.message ? err.message : `${err.message} (${detail})`;
}

/** The words for a refusal: the server's own refusal, or what went wrong on the client's side. */
export function describeRefusal(r: Refusal): string {
  const at = r.serverUrl === undefined ? '' : ` at ${r.serverUrl}`;
  switch (r.code) {
    case 'network_error':
    case 'timeout':
      return `could not reach the key server${at}: ${r.message}`;
    case 'bad_response':
    case 'bad_key':
      return `the key server's answer was not valid (${r.code}${r.status === 0 ? '' : `, HTTP ${r.status}`}): ${r.message}`;
    default:
      return `key server refused: ${r.code} (${r.status}): ${r.message}`;
  }
}

/** Thrown by `orThrow` for a refusal, for callers that prefer exceptions (e.g. the sender's key schedule). */
export class KeyServerRefusalError extends Error {
  override readonly name = 'KeyServerRefusalError';
  constructor(readonly refusal: Refusal) {
    super(describeRefusal(refusal));
  }
}

export function orThrow<T extends { ok: true }>(r: T | Refusal): T {
  if (!r.ok) throw new KeyServerRefusalError(r);
  return r;
}
