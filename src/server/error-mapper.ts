// The one place errors become HTTP answers: { error: { code, message } } with the code's status (src/server/errors.ts,
// docs/errors.md). Anything unexpected is internal_error, logged with its stack, and its message is not sent.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, KeyServerError, type ErrorBody, type ErrorCode, type RemovedBy } from './errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

function send(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  retryAfterMs?: number,
  removedBy?: RemovedBy,
  removedAtMs?: number,
): FastifyReply {
  const body: ErrorBody = {
    error: {
      code,
      message,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      ...(removedBy !== undefined && { removedBy }),
      ...(removedAtMs !== undefined && { removedAtMs }),
    },
  };
  if (retryAfterMs !== undefined) void reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  return reply.status(ERROR_CODES[code].status).type('application/json').send(body);
}

export function installErrorMapper(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | KeyServerError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof KeyServerError) {
      if (err.status >= 500) req.log.warn({ code: err.code }, err.message);
      return send(reply, err.code, err.message, err.retryAfterMs, err.removedBy, err.removedAtMs);
    }
    const mapped = err.code === undefined ? undefined : FASTIFY_CODES[err.code];
    if (mapped !== undefined) return send(reply, mapped, err.message);
    if (
      err.validation !== undefined ||
      (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    ) {
      return send(reply, 'invalid_request', err.message);
    }
    req.log.error({ err }, 'unexpected error');
    return send(reply, 'internal_error', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => send(reply, 'not_found', `no route ${req.method} ${req.url}`));
}
