// The key server's public surface.
export { buildKeyServer, DEFAULT_HOST, DEFAULT_PORT, type KeyServerOptions } from './app.js';
export {
  CLIENT_ERROR_CODES,
  KeyServerClient,
  KeyServerRefusalError,
  openWrappedServiceKey,
  orThrow,
  type ClientErrorCode,
  type ContentKeyIssued,
  type ContentKeyRequest,
  type KeyServerClientOptions,
  type Refusal,
  type SegmentKeyGranted,
  type SegmentKeyOnTheAir,
  type ServiceKeyGranted,
} from './client.js';
export { ERROR_CODES, ERROR_CODE_NAMES, KeyServerError, type ErrorBody, type ErrorCode } from './errors.js';
export { createKeyServerLogger, REDACT_PATHS } from './logger.js';
export type * from './wire.js';
export { BODY_LIMIT_BYTES, REQUEST_ID_PATTERN } from './wire.js';
