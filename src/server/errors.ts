// Every error code the key server answers with, in one registry. Each is documented in docs/errors.md (a test fails
// when one is not). An error answer is JSON: { "error": { "code": "<code>", "message": "<text>" } }.

export const ERROR_CODES = {
  // Authentication (docs/errors.md "Authentication").
  unknown_client: { status: 401, retryable: false },
  bad_mac: { status: 401, retryable: false },
  stale_request: { status: 401, retryable: true },
  replayed_request: { status: 401, retryable: false },
  forbidden_role: { status: 403, retryable: false },
  // Key requests.
  not_entitled: { status: 403, retryable: false },
  unknown_programme: { status: 404, retryable: false },
  unknown_segment: { status: 400, retryable: false },
  not_yet: { status: 409, retryable: true },
  segment_not_monotonic: { status: 409, retryable: false },
  segment_too_far: { status: 409, retryable: false },
  members_rejoining: { status: 409, retryable: true },
  request_id_conflict: { status: 409, retryable: false },
  // Subscriptions and service keys.
  unknown_service: { status: 404, retryable: false },
  period_not_available: { status: 409, retryable: true },
  // Sessions (docs/membership.md).
  not_session: { status: 409, retryable: false },
  not_member: { status: 403, retryable: false },
  revoked: { status: 403, retryable: false },
  // Request shape.
  malformed_json: { status: 400, retryable: false },
  invalid_request: { status: 400, retryable: false },
  body_too_large: { status: 413, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  not_found: { status: 404, retryable: false },
  // Server side.
  log_unavailable: { status: 503, retryable: true },
  internal_error: { status: 500, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as readonly ErrorCode[];

export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CODES, s);
}

/** A refusal the error mapper turns into the code's HTTP status and the JSON error body. */
export class KeyServerError extends Error {
  override readonly name = 'KeyServerError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For `not_yet`: when to ask again, in ms from now (also sent as a Retry-After header, in seconds). */
    readonly retryAfterMs?: number,
    /** For `revoked`: what removed the client from the session (sent as `error.removedBy`). */
    readonly removedBy?: RemovedBy,
    /** For `revoked`: Unix ms of the removal (sent as `error.removedAtMs`). */
    readonly removedAtMs?: number,
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }
}

/** What removed a member from a session: its leave, keep-alive expiry (claim 24) or a missing ack (claim 21). */
export const REMOVED_BY = ['leave', 'keepalive', 'ack'] as const;
export type RemovedBy = (typeof REMOVED_BY)[number];

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly retryAfterMs?: number;
    readonly removedBy?: RemovedBy;
    readonly removedAtMs?: number;
  };
}
