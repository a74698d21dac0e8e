// The key server's pino logger. Keys never reach the log: routes never log bodies, and as a second line of defence
// every path that could hold key material or a MAC is redacted.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers["x-keycast-mac"]',
  'req.headers.authorization',
  'req.body',
  'res.body',
  '*.wrappedKey',
  '*.wrappedContentKey',
  '*.keyMessage',
  '*.clientKey',
  '*.masterKey',
  '*.masterSalt',
  '*.psk',
  '*.uk',
  '*.ck',
];

export const REDACT_OPTIONS = { paths: REDACT_PATHS, censor: '[redacted]' } as const;

/** A logger for the key server (to stderr unless told otherwise: stdout carries the CLI's JSON lines). */
export function createKeyServerLogger(
  opts: { level?: LoggerOptions['level']; destination?: DestinationStream } = {},
): Logger {
  return pino(
    { name: 'keycast-key-server', level: opts.level ?? 'info', redact: REDACT_OPTIONS },
    opts.destination ?? pino.destination(2),
  );
}

/** A child of a caller's logger with the key server's redaction added. */
export function withRedaction(logger: Logger): Logger {
  return logger.child({ component: 'key-server' }, { redact: REDACT_OPTIONS });
}
