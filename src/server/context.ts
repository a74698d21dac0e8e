// What every route needs: the store, the server's secrets, a clock, and the segment-key multicast batcher.
import type { ServerSecrets } from '../store/data-dir.js';
import type { ProgrammeRow, Store, StoreTx } from '../store/types.js';
import type { SegmentKeyBatcher } from './segment-key-batch.js';

export interface ServerContext {
  readonly store: Store;
  readonly secrets: ServerSecrets;
  /** Unix ms; injectable for tests. */
  readonly now: () => number;
  /** Gathers requests that asked for multicast delivery (src/server/segment-key-batch.ts); set by buildKeyServer. */
  readonly segmentKeyBatcher?: SegmentKeyBatcher;
  /** Session member lists and group keys (SessionManager, src/server/sessions.ts); set by buildKeyServer. */
  readonly sessions?: SessionGroupKeys;
}

/** What content keys need of the sessions (declared here so that sessions.ts may import this file's users). */
export interface SessionGroupKeys {
  /** Inside the content key's transaction: the group key to wrap it under, after any waiting removal's rekey. */
  groupKeyForContentKey(
    tx: StoreTx,
    p: ProgrammeRow,
  ): Promise<{ readonly epoch: number; readonly key: Uint8Array }>;
  /** After a restart, while the previous run's members rejoin: how long a sender should wait (members_rejoining). */
  contentKeyWaitMs(p: ProgrammeRow): number | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact request body bytes (the request MAC covers them); undefined when there was no body. */
    rawBody: Buffer | undefined;
  }
}
