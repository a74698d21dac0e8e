// The key server's app factory. It never listens by itself: `keycast serve` (or a test) calls listen, on
// 127.0.0.1 by default. Routes are plugins; errors are mapped in one place (error-mapper.ts).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { runSrtpSelfTest } from '../crypto/self-test.js';
import { loadServerSecrets, type ServerSecrets } from '../store/data-dir.js';
import type { Store } from '../store/types.js';
import type { ServerContext } from './context.js';
import {
  DEFAULT_SEGMENT_KEY_MULTICAST,
  SegmentKeyBatcher,
  type SegmentKeyMulticastOptions,
} from './segment-key-batch.js';
import { KeyServerError } from './errors.js';
import { installErrorMapper } from './error-mapper.js';
import { withRedaction } from './logger.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { programmeRoutes } from './routes/programmes.js';
import { sessionRoutes } from './routes/sessions.js';
import { MulticastSockets } from './multicast-sockets.js';
import { SessionManager, type SessionOptions } from './sessions.js';
import { BODY_LIMIT_BYTES } from './wire.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8443;

export interface KeyServerOptions {
  readonly store: Store;
  /** Where the master key and signing key live (src/store/data-dir.ts). */
  readonly dataDir: string;
  /** A pino logger; the server adds its redaction. Default: no logging. */
  readonly logger?: Logger;
  /** Unix ms clock, for tests. */
  readonly now?: () => number;
  /** Already-loaded secrets (instead of reading dataDir), for tests. */
  readonly secrets?: ServerSecrets;
  /**
   * Multicast delivery of segment keys to named clients (src/server/segment-key-batch.ts): the collection window,
   * and the interface and TTL to multicast with. Defaults: 50 ms, 127.0.0.1, TTL 0.
   */
  readonly segmentKeyMulticast?: Partial<SegmentKeyMulticastOptions>;
  /**
   * Sessions (docs/membership.md): rekey mode (default lkh), batch interval (1000 ms), keep-alive interval (2000 ms),
   * member expiry (3 × keep-alive), ack timeout (5000 ms), and the monotonic clock (performance.now) for tests.
   */
  readonly sessions?: Partial<SessionOptions>;
}

const sessionManagers = new WeakMap<FastifyInstance, SessionManager>();

/** The session manager of a key server built by buildKeyServer (member lists, group epochs; for tests, metrics). */
export function sessionManagerOf(app: FastifyInstance): SessionManager | undefined {
  return sessionManagers.get(app);
}

/**
 * Builds the key server. Runs the SRTP known-answer self-test first and throws if it fails (the server must not
 * start with broken crypto). Reads the server's secrets from `dataDir`.
 */
export function buildKeyServer(opts: KeyServerOptions): FastifyInstance {
  runSrtpSelfTest();
  const secrets = opts.secrets ?? loadServerSecrets(opts.dataDir);
  const core = { store: opts.store, secrets, now: opts.now ?? Date.now };
  const multicast = { ...DEFAULT_SEGMENT_KEY_MULTICAST, ...opts.segmentKeyMulticast };
  const sockets = new MulticastSockets(multicast, opts.logger); // one socket per group for both
  const segmentKeyBatcher = new SegmentKeyBatcher(core, multicast, opts.logger, sockets);
  const sessions = new SessionManager(core, sockets, opts.sessions ?? {}, opts.logger);
  const ctx: ServerContext = { ...core, segmentKeyBatcher, sessions };
  const base = { bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true };
  let app: FastifyInstance;
  if (opts.logger === undefined) {
    app = Fastify({ ...base, logger: false });
  } else {
    const loggerInstance: FastifyBaseLogger = withRedaction(opts.logger);
    app = Fastify({ ...base, loggerInstance });
  }
  app.decorateRequest('rawBody', undefined);
  app.removeAllContentTypeParsers(); // JSON only: text/plain and the rest are 415
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    try {
      done(null, body.length === 0 ? undefined : (JSON.parse(body.toString('utf8')) as unknown));
    } catch {
      done(new KeyServerError('malformed_json', 'the body is not valid JSON'), undefined);
    }
  });
  app.addHook('onClose', async () => {
    await sessions.close();
    await segmentKeyBatcher.close(); // closes the shared sockets
  });
  // Sessions the log holds open belonged to a previous run: close them by the restart rule, then start the timers.
  app.addHook('onReady', async () => {
    const closed = await sessions.closeSessionsOfPreviousRun();
    if (closed > 0)
      opts.logger?.info({ closed }, 'sessions of the previous run closed (billing_stop by restart)');
    sessions.start();
  });
  sessionManagers.set(app, sessions);
  installErrorMapper(app);
  void app.register(healthRoutes);
  void app.register(programmeRoutes, { ctx });
  void app.register(keyRoutes, { ctx });
  void app.register(sessionRoutes, { ctx, sessions });
  return app;
}
