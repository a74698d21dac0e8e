// Test fixture: a real data directory and SQLite file in a temp dir, a key server app (inject or listen on
// 127.0.0.1:0), one service, one programme, a receiver and a sender.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { asSegmentIndex, type ClientId } from '../../src/ids.js';
import { deriveRequestMacKey } from '../../src/keys/client-key.js';
import type { Credentials } from '../../src/keys/credentials.js';
import { signRequest } from '../../src/keys/request-auth.js';
import { buildKeyServer } from '../../src/server/app.js';
import {
  createProgramme,
  createService,
  enrolClient,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  verifyLog,
  type LogRecord,
  type ProgrammeRow,
  type ServerSecrets,
  type ServiceRow,
  type Store,
} from '../../src/store/index.js';

export const T0 = Date.UTC(2026, 11, 15, 12, 0, 0); // inside period 2026-12

export interface Fixture {
  readonly dir: string;
  readonly dbPath: string;
  readonly store: Store;
  readonly secrets: ServerSecrets;
  readonly app: FastifyInstance;
  readonly clock: { now: number };
  readonly service: ServiceRow;
  readonly programme: ProgrammeRow;
  readonly receiver: Credentials;
  readonly sender: Credentials;
  close(): Promise<void>;
}

export async function setup(opts: { logger?: Logger } = {}): Promise<Fixture> {
  const dir = join(await mkdtemp(join(tmpdir(), 'keycast-server-')), 'data');
  await initDataDir(dir);
  const store = openDataDirStore(dir);
  const secrets = loadServerSecrets(dir);
  const clock = { now: T0 };
  const service = await createService(store, { name: 'news', nowMs: T0 });
  const programme = await createProgramme(store, {
    serviceId: service.id,
    name: 'evening',
    group: '239.255.0.1',
    port: 5004,
    nowMs: T0,
  });
  const receiver = (await enrolClient(store, secrets, { name: 'alice', nowMs: T0 })).credentials;
  const sender = (await enrolClient(store, secrets, { name: 'tx', role: 'sender', nowMs: T0 })).credentials;
  const app = buildKeyServer({
    store,
    dataDir: dir,
    now: () => clock.now,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  await app.ready();
  return {
    dir,
    dbPath: join(dir, 'keycast.db'),
    store,
    secrets,
    app,
    clock,
    service,
    programme,
    receiver,
    sender,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: unknown;
  /** Raw body text instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly timestampMs?: number;
  readonly nonceHex?: string;
  readonly clientId?: ClientId;
  readonly headers?: Record<string, string>;
}

export function signedHeaders(f: Fixture, creds: Credentials, r: SignedRequest): Record<string, string> {
  const text = r.rawBody ?? (r.body === undefined ? '' : JSON.stringify(r.body));
  return {
    ...signRequest(deriveRequestMacKey(creds.clientKey), r.clientId ?? creds.clientId, {
      method: r.method,
      path: r.url,
      body: text,
      timestampMs: r.timestampMs ?? f.clock.now,
      ...(r.nonceHex === undefined ? {} : { nonceHex: r.nonceHex }),
    }),
    ...(r.method === 'POST' ? { 'content-type': 'application/json' } : {}),
    ...r.headers,
  };
}

export function inject(f: Fixture, creds: Credentials, r: SignedRequest): Promise<LightMyRequestResponse> {
  const text = r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
  return f.app.inject({
    method: r.method,
    url: r.url,
    headers: signedHeaders(f, creds, r),
    ...(text === undefined ? {} : { payload: text }),
  });
}

export const segmentRequest = (
  programmeId: number,
  segment: unknown,
  requestId = `req-${segment as number}`,
) => ({
  method: 'POST' as const,
  url: '/v1/keys/segment',
  body: { programmeId, segment, requestId },
});

export const contentKeyRequest = (f: Fixture, segment: number, extra: Record<string, unknown> = {}) => ({
  method: 'POST' as const,
  url: '/v1/sender/content-keys',
  body: {
    programmeId: f.programme.id,
    segment,
    ssrc: 0x1234,
    roc: 0,
    seq: 100,
    activatesAtMs: f.clock.now + 1000,
    expiresAtMs: f.clock.now + 12_000,
    ...extra,
  },
});

export async function logRecords(f: Fixture): Promise<LogRecord[]> {
  return f.store.transact((tx) => tx.log.range(1, 10_000));
}

/** The records after the fixture's set-up (two enrolments). */
export async function requestLog(f: Fixture): Promise<LogRecord[]> {
  return (await logRecords(f)).filter((r) => r.event !== 'enrol' && r.event !== 'grant');
}

export async function expectChainOk(f: Fixture): Promise<void> {
  const v = await verifyLog(f.store);
  if (!v.ok) throw new Error(`log chain broken: ${v.message}`);
}

export const seg = asSegmentIndex;
