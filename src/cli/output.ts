// What CLI processes share: a pino logger on stderr (keys redacted), and JSON event lines on stdout for
// parents such as `keycast demo`.
import { pino, type Logger } from 'pino';
import { REDACT_OPTIONS } from '../server/logger.js';

export function cliLogger(name: string, level = process.env.KEYCAST_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: REDACT_OPTIONS }, pino.destination(2));
}

/** One JSON object per line on stdout. */
export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** Resolves on the first SIGINT or SIGTERM, so a command can finish cleanly (flush files, write stats). */
export function untilSignal(): { readonly promise: Promise<NodeJS.Signals>; readonly signal: AbortSignal } {
  const controller = new AbortController();
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      controller.abort();
      resolve(sig);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  return { promise, signal: controller.signal };
}
