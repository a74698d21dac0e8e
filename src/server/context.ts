// What every route needs: the store, the server's secrets and a clock.
import type { ServerSecrets } from '../store/data-dir.js';
import type { Store } from '../store/types.js';

export interface ServerContext {
  readonly store: Store;
  readonly secrets: ServerSecrets;
  /** Unix ms; injectable for tests. */
  readonly now: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact request body bytes (the request MAC covers them); undefined when there was no body. */
    rawBody: Buffer | undefined;
  }
}
