// Fixture for session tests (claims 13-24): a real key server on 127.0.0.1:0 with real SQLite, a programme priced
// `session` on a random loopback multicast group, receivers enrolled with KeyServerClients, a listener on the key
// port collecting the group_rekey datagrams, and member rings fed from join answers and the multicast.
// Both clocks are injectable: `mono` (elapsed time: expiry, ack timeout) and `wall` (log stamps, request freshness;
// the clients sign with the same wall clock).
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { unwrapContentKeyUnderGroupKey } from '../../src/keys/content-key.js';
import type { Credentials } from '../../src/keys/credentials.js';
import {
  applyGroupRekeyDatagram,
  GroupKeyRing,
  verifyGroupRekey,
  type GroupMode,
} from '../../src/keys/group/index.js';
import { buildKeyServer, sessionManagerOf } from '../../src/server/app.js';
import { KeyServerClient, type ContentKeyIssued, type SessionJoined } from '../../src/server/client.js';
import type { SessionManager, SessionOptions } from '../../src/server/sessions.js';
import {
  createProgramme,
  createService,
  enrolClient,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  type LogRecord,
  type ProgrammeRow,
  type ServerSecrets,
  type Store,
} from '../../src/store/index.js';
import { randomGroup } from '../helpers/system.js';

export interface SessionMember {
  readonly name: string;
  readonly credentials: Credentials;
  readonly client: KeyServerClient;
  ring: GroupKeyRing | undefined;
  joined: SessionJoined | undefined;
}

export interface SessionSystem {
  readonly dir: string;
  readonly store: Store;
  readonly secrets: ServerSecrets;
  readonly server: FastifyInstance;
  readonly sessions: SessionManager;
  readonly url: string;
  readonly programme: ProgrammeRow;
  readonly mono: { now: number | undefined };
  readonly wall: { offsetMs: number };
  /** Every datagram that arrived on the key port, in order. */
  readonly keyPortDatagrams: Buffer[];
  enrol(name: string, role?: 'receiver' | 'sender'): Promise<SessionMember>;
  /** Each member acks the epoch its ring holds (claim 20). */
  ackAll(members: readonly SessionMember[]): Promise<void>;
  /** A content key from the key server (as the sender asks for one) and its signed key message. */
  contentKey(sender: SessionMember, segment?: number): Promise<ContentKeyIssued>;
  /** Joins, builds the member's ring from the answer (member key + rekey datagrams). */
  join(m: SessionMember): Promise<SessionJoined>;
  /** Applies every key-port datagram received so far to each given ring (verified; idempotent). */
  feed(members: readonly SessionMember[]): void;
  /** Waits until the key port has seen a group_rekey of `epoch` (or later). */
  waitForEpoch(epoch: number, timeoutMs?: number): Promise<void>;
  log(): Promise<LogRecord[]>;
  close(): Promise<void>;
}

export async function startSessionSystem(
  opts: Partial<Omit<SessionOptions, 'monoNow'>> & { rekey?: GroupMode; manualMono?: boolean } = {},
): Promise<SessionSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'keycast-session-'));
  const dataDir = join(dir, 'data');
  await initDataDir(dataDir);
  const store = openDataDirStore(dataDir);
  const secrets = loadServerSecrets(dataDir);
  const service = await createService(store, { name: 'sessions' });
  const { group, port } = randomGroup();
  const programme = await createProgramme(store, {
    serviceId: service.id,
    name: 'live',
    group,
    port,
    pricing: 'session',
    cryptoPeriodMs: 1000,
    segmentLengthMs: 4000,
  });
  const mono: { now: number | undefined } = { now: opts.manualMono === true ? 0 : undefined };
  const wall = { offsetMs: 0 };
  const wallNow = () => Date.now() + wall.offsetMs;
  const { manualMono: _m, ...sessionOpts } = opts;
  const server = buildKeyServer({
    store,
    dataDir,
    now: wallNow,
    sessions: {
      ...sessionOpts,
      monoNow: () => mono.now ?? performance.now(),
    },
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const sessions = sessionManagerOf(server)!;

  const keyPortDatagrams: Buffer[] = [];
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (m) => keyPortDatagrams.push(m));
  await new Promise<void>((resolve) => socket.bind(programme.keyPort, group, () => resolve()));
  socket.addMembership(group, '127.0.0.1');
  socket.setRecvBufferSize(4 * 1024 * 1024);

  const fed = new Map<SessionMember, number>();
  let keySeq = 0;
  const system: SessionSystem = {
    dir,
    store,
    secrets,
    server,
    sessions,
    url,
    programme,
    mono,
    wall,
    keyPortDatagrams,
    async enrol(name, role = 'receiver') {
      const { credentials } = await enrolClient(store, secrets, { name, role, serverUrl: url });
      const client = new KeyServerClient(credentials, { now: wallNow, maxAttempts: 1 });
      return { name, credentials, client, ring: undefined, joined: undefined };
    },
    async join(m) {
      const r = await m.client.joinSession(programme.id);
      if (!r.ok) throw new Error(`${m.name}: join refused: ${r.code} ${r.message}`);
      m.joined = r;
      m.ring = new GroupKeyRing(programme.id, r.memberId, r.clearMemberKey);
      for (const d of r.rekey) applyGroupRekeyDatagram(m.ring, d, secrets.signing.publicKey);
      fed.set(m, keyPortDatagrams.length); // only what arrives after the join
      return r;
    },
    async ackAll(members) {
      for (const m of members) {
        const e = m.ring?.epoch;
        if (e === undefined) continue;
        const r = await m.client.ackGroupKey(programme.id, e);
        if (!r.ok) throw new Error(`${m.name}: ack refused: ${r.code}`);
      }
    },
    async contentKey(sender, segment = 0) {
      const t = wallNow();
      const r = await sender.client.issueContentKey({
        programmeId: programme.id,
        segment,
        ssrc: 0x1234,
        roc: 0,
        seq: (keySeq += 100) & 0xffff,
        activatesAtMs: t,
        expiresAtMs: t + 1000,
      });
      if (!r.ok) throw new Error(`content key refused: ${r.code} ${r.message}`);
      return r;
    },
    feed(members) {
      for (const m of members) {
        if (m.ring === undefined) continue;
        const from = fed.get(m) ?? 0;
        for (const d of keyPortDatagrams.slice(from))
          applyGroupRekeyDatagram(m.ring, new Uint8Array(d), secrets.signing.publicKey);
        fed.set(m, keyPortDatagrams.length);
      }
    },
    async waitForEpoch(epoch, timeoutMs = 3000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const seen = keyPortDatagrams.some((d) => {
          const v = verifyGroupRekey(new Uint8Array(d), secrets.signing.publicKey);
          return v.ok && v.msg.groupEpoch >= epoch;
        });
        if (seen) return;
        if (Date.now() > until) throw new Error(`no group_rekey of epoch ${epoch} on the key port`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async log() {
      return store.transact((tx) => tx.log.range(1, 1_000_000));
    },
    async close() {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return system;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The group_rekey log records' details, in order. */
export function rekeyRecords(
  log: readonly LogRecord[],
): { epoch: number; removed?: number[]; joined?: number }[] {
  return log
    .filter((r) => r.event === 'group_rekey')
    .map((r) => JSON.parse(r.detail!) as { epoch: number; removed?: number[]; joined?: number });
}

/** Can this member's ring open the content key of `issued` (its group entry)? */
export function canOpen(m: SessionMember, issued: ContentKeyIssued): boolean {
  const gk = m.ring?.groupKey();
  if (gk === undefined) return false;
  const entry = issued.message.type === 'content_key' ? issued.message.entries[0] : undefined;
  if (entry === undefined || entry.wrapKind !== 'group') return false;
  // The ring's current key, or any epoch whose low 16 bits the entry names: the ring keeps only the current one.
  return unwrapContentKeyUnderGroupKey(issued.message, gk.key, gk.epoch).ok;
}
