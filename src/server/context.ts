// What every route needs: the store, the server's secrets, a clock, and the segment-key multicast batcher.
import type { ServerSecrets } from '../store/data-dir.js';
import type { Store } from '../store/types.js';
import type { SegmentKeyBatcher } from './segment-key-batch.js';

export interface ServerContext {
  readonly store: Store;
  readonly secrets: ServerSecrets;
  /** Unix ms; injectable for tests. */
  readonly now: () => number;
  /** Gathers requests that asked for multicast delivery (src/server/segment-key-batch.ts); set by buildKeyServer. */
  readonly segmentKeyBatcher?: SegmentKeyBatcher;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact request body bytes (the request MAC covers them); undefined when there was no body. */
    rawBody: Buffer | undefined;
  }
}
