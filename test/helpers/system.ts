// A real keycast system for scenario tests: a data directory in a temp dir, a SQLite store, the key server
// listening on 127.0.0.1 (random port), and a programme on a random loopback multicast group.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { asSegmentIndex } from '../../src/ids.js';
import type { Credentials } from '../../src/keys/credentials.js';
import { KeyServerClient, orThrow, type ProgrammeInfo } from '../../src/server/client.js';
import { buildKeyServer } from '../../src/server/index.js';
import type { SessionOptions } from '../../src/server/sessions.js';
import {
  createProgramme,
  createService,
  enrolClient,
  grantSegments,
  grantSubscription,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  periodOf,
  type ServerSecrets,
  type Store,
} from '../../src/store/index.js';

export const quietLog = pino({ level: 'silent' });

export interface TestSystem {
  readonly dir: string;
  readonly dataDir: string;
  readonly store: Store;
  readonly secrets: ServerSecrets;
  readonly server: FastifyInstance;
  readonly url: string;
  readonly serviceId: number;
  readonly programme: ProgrammeInfo;
  enrol(
    name: string,
    role: 'sender' | 'receiver',
    entitlement?: 'subscription' | 'per_segment',
  ): Promise<TestClient>;
  close(): Promise<void>;
}

export interface TestClient {
  readonly credentials: Credentials;
  readonly client: KeyServerClient;
}

export function randomGroup(): { group: string; port: number } {
  return {
    group: `239.255.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`,
    port: 20_000 + 4 * Math.floor(Math.random() * 10_000),
  };
}

export async function startSystem(
  opts: {
    cryptoPeriodMs?: number;
    segmentLengthMs?: number;
    mkiLengthBytes?: number;
    /** How packets signal a key change: 'mki' (default) or 'phase' (claim 29). */
    keyChange?: 'mki' | 'phase';
    /** The programme's SRTP profile (default AES_CM_128_HMAC_SHA1_80). */
    profile?: string;
    pricing?: 'subscription' | 'per_segment' | 'both' | 'session';
    /** The key server's collection window for multicast segment-key delivery (default 50 ms). */
    segmentKeyWindowMs?: number;
    /** Session options of the key server (rekey mode, keep-alive interval, expiry, ...). */
    sessions?: Partial<SessionOptions>;
  } = {},
): Promise<TestSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'keycast-test-'));
  const dataDir = join(dir, 'data');
  await initDataDir(dataDir);
  const store = openDataDirStore(dataDir);
  const secrets = loadServerSecrets(dataDir);
  const service = await createService(store, { name: 'test-service' });
  const { group, port } = randomGroup();
  const row = await createProgramme(store, {
    serviceId: service.id,
    name: 'test-programme',
    group,
    port,
    cryptoPeriodMs: opts.cryptoPeriodMs ?? 1000,
    segmentLengthMs: opts.segmentLengthMs ?? 4000,
    ...(opts.mkiLengthBytes !== undefined && { mkiLengthBytes: opts.mkiLengthBytes }),
    ...(opts.keyChange !== undefined && { keyChange: opts.keyChange }),
    ...(opts.pricing !== undefined && { pricing: opts.pricing }),
    ...(opts.profile !== undefined && { profile: opts.profile }),
  });
  const server = buildKeyServer({
    store,
    dataDir,
    ...(opts.segmentKeyWindowMs !== undefined && {
      segmentKeyMulticast: { windowMs: opts.segmentKeyWindowMs },
    }),
    ...(opts.sessions !== undefined && { sessions: opts.sessions }),
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const system: TestSystem = {
    dir,
    dataDir,
    store,
    secrets,
    server,
    url,
    serviceId: service.id,
    programme: { ...row, latestSegment: null },
    async enrol(name, role, entitlement) {
      const { client, credentials } = await enrolClient(store, secrets, { name, role, serverUrl: url });
      if (entitlement === 'subscription') {
        await grantSubscription(store, {
          clientId: client.id,
          serviceId: service.id,
          period: periodOf(Date.now()),
        });
      } else if (entitlement === 'per_segment') {
        await grantSegments(store, {
          clientId: client.id,
          programmeId: row.id,
          fromSegment: asSegmentIndex(0),
        });
      }
      return { credentials, client: new KeyServerClient(credentials) };
    },
    async close() {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  // The programme as a client sees it, through the key server.
  const probe = await system.enrol('probe', 'receiver');
  const seen = orThrow(await probe.client.getProgramme(row.id)).programme;
  return { ...system, programme: seen };
}

export const SAMPLE = new URL('../../samples/sample.ts', import.meta.url);

/** The first `packets` RTP payloads' worth of TS (7 × 188 bytes each) of the sample. */
export async function sampleSlice(rtpPackets: number): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  const all = await readFile(SAMPLE);
  return new Uint8Array(all.subarray(0, Math.min(all.length, rtpPackets * 7 * 188)));
}

export async function* inMemory(bytes: Uint8Array, pieceBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += pieceBytes) {
    yield bytes.subarray(o, o + pieceBytes);
    await Promise.resolve();
  }
}

export interface SendOptions {
  readonly speed?: number;
  readonly leadMs?: number;
  readonly initialSeq?: number;
  /** SRTCP sender reports this often (0 = off); default the Sender's (1000 ms). */
  readonly rtcpIntervalMs?: number;
}

/** Runs a real Sender (in this process) with a sender client of `system`, over the loopback group. */
export async function sendMedia(
  system: TestSystem,
  sender: TestClient,
  media: Uint8Array,
  o: SendOptions = {},
) {
  const { Sender } = await import('../../src/sender/sender.js');
  // Fetched now: a programme already on the air makes a new sender resume after its newest segment.
  const programme = orThrow(await sender.client.getProgramme(system.programme.id)).programme;
  const s = new Sender({
    programme,
    speed: o.speed ?? 8,
    paced: true,
    leadMs: o.leadMs ?? 150,
    carouselIntervalMs: 50,
    interfaceAddress: '127.0.0.1',
    ttl: 0,
    log: quietLog,
    ...(o.initialSeq !== undefined && { initialSeq: o.initialSeq }),
    ...(o.rtcpIntervalMs !== undefined && { rtcpIntervalMs: o.rtcpIntervalMs }),
    issueContentKey: async (req) =>
      orThrow(await sender.client.issueContentKey({ programmeId: system.programme.id, ...req })),
  });
  await s.open();
  try {
    const progress = await s.run(inMemory(media));
    return { progress, ssrc: s.ssrc, segmentRanges: s.segmentRanges };
  } finally {
    await s.close();
  }
}

/** Joins the programme's media group and keeps every datagram, in order. */
export async function captureGroup(system: TestSystem, port = system.programme.port) {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const packets: Buffer[] = [];
  socket.on('message', (m) => packets.push(m));
  await new Promise<void>((resolve) => socket.bind(port, system.programme.group, () => resolve()));
  socket.addMembership(system.programme.group, '127.0.0.1');
  socket.setRecvBufferSize(4 * 1024 * 1024); // capped by net.core.rmem_max
  return {
    packets,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface ReceiverTestOptions {
  /** Service keys held at start (e.g. from a purchase). */
  readonly serviceKeys?: readonly { serviceId: number; period: string; key: Uint8Array }[];
  /** Ask the key server for service keys (POST /v1/keys/service) at start and ahead of a period change. */
  readonly fetchServiceKeys?: boolean;
  /** Ask this URL instead of the key server's own (e.g. a fault proxy in front of it). */
  readonly serverUrl?: string;
  /** Per segment-key request (default SEGMENT_KEY_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Ask for segment keys with multicast delivery (claims 7-8); default unicast. */
  readonly segmentKeyDelivery?: 'unicast' | 'multicast';
  /** Join the programme's session (a programme priced `session`); keep trying after removal, as an attacker. */
  readonly session?: { readonly keepListeningAfterRemoval?: boolean };
}

/** A real Receiver (in this process) for `client`, collecting the recovered TS in memory. */
export async function startReceiver(
  system: TestSystem,
  client: TestClient,
  holdMs = 3000,
  o: ReceiverTestOptions = {},
) {
  const { Receiver } = await import('../../src/receiver/receiver.js');
  const { keyMessageOpener } = await import('../../src/receiver/open-key-message.js');
  const { segmentKeyFetcher } = await import('../../src/receiver/segment-keys.js');
  const { serviceKeyFetcher } = await import('../../src/receiver/service-keys.js');
  const { sessionApi } = await import('../../src/receiver/session-api.js');
  const chunks: Buffer[] = [];
  const rtpPackets: Buffer[] = [];
  const deliveredAtMs: number[] = [];
  const receiver = new Receiver({
    programme: system.programme,
    interfaceAddress: '127.0.0.1',
    log: quietLog,
    holdMs,
    sinks: [
      {
        write: (rtp, payload) => {
          chunks.push(Buffer.from(payload));
          rtpPackets.push(Buffer.from(rtp));
          deliveredAtMs.push(performance.now());
        },
        close: () => Promise.resolve(),
      },
    ],
    openKeyMessage: keyMessageOpener(client.credentials.serverPublicKey, client.credentials),
    // As `keycast receive` builds them: one request per call, the receiver's retry rules do the retrying.
    fetchSegmentKey: segmentKeyFetcher(client.credentials, {
      serverUrl: o.serverUrl ?? system.url,
      programmeId: system.programme.id,
      ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      ...(o.segmentKeyDelivery !== undefined && { delivery: o.segmentKeyDelivery }),
    }),
    ...(o.serviceKeys !== undefined && { serviceKeys: o.serviceKeys }),
    ...(o.fetchServiceKeys === true && {
      fetchServiceKey: serviceKeyFetcher(
        o.serverUrl === undefined
          ? client.client
          : new KeyServerClient(client.credentials, { serverUrl: o.serverUrl }),
      ),
    }),
    ...(o.session !== undefined && {
      session: {
        serverPublicKey: client.credentials.serverPublicKey,
        api: sessionApi(client.client, system.programme.id),
        keepListeningAfterRemoval: o.session.keepListeningAfterRemoval === true,
      },
    }),
  });
  await receiver.open();
  return {
    receiver,
    output: () => Buffer.concat(chunks),
    /** The RTP packets handed on (MKI, tag and key phase gone), in order. */
    rtpPackets: () => rtpPackets,
    /** The longest pause between two packets handed on. */
    longestGapMs: () => Math.max(0, ...deliveredAtMs.slice(1).map((t, i) => t - deliveredAtMs[i]!)),
    close: () => receiver.close(),
  };
}

/**
 * The claim scenarios' run: an encoder sends `rtpPackets` of the sample on `system`, one subscriber receives them
 * (given up to 5 s after the send to decrypt them all), and the media group is captured as sent.
 */
export async function sendToOneViewer(system: TestSystem, rtpPackets: number, o: SendOptions) {
  const sender = await system.enrol('encoder', 'sender');
  const viewer = await system.enrol('viewer', 'receiver', 'subscription');
  const rx = await startReceiver(system, viewer);
  const capture = await captureGroup(system);
  const media = await sampleSlice(rtpPackets);
  const keysRotated = (await sendMedia(system, sender, media, o)).progress.keysRotated;
  const t0 = Date.now();
  while (rx.receiver.stats.packetsDecrypted < rtpPackets && Date.now() - t0 < 5000)
    await new Promise((r) => setTimeout(r, 20));
  await capture.close();
  await rx.close();
  return {
    media,
    keysRotated,
    /** The datagrams on the media group, in order. */
    wire: capture.packets,
    rtp: rx.rtpPackets(),
    output: rx.output(),
    stats: rx.receiver.stats,
  };
}
