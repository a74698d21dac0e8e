// `keycast demo`: the whole system on the shipped sample, on this host only. A key server, a sender and five
// receivers (demo-cast.ts) run as separate processes on loopback multicast (interface 127.0.0.1, TTL 0); the demo
// sets up a temporary data directory, watches, then checks every claim it can see (demo-checks.ts) and prints the
// bill. The sender starts its RTP sequence number a few hundred packets below 2^16, so that it wraps early in the
// programme; the late joiner starts only once the sender reports packets past the wrap.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../crypto/mac.js';
import { rateLog } from '../billing/rate.js';
import type { RatePlan } from '../billing/rate-plan.js';
import { TS_PACKET_BYTES, TS_PACKETS_PER_RTP } from '../packet/mpegts.js';
import type { SegmentRange } from '../sender/types.js';
import {
  createProgramme,
  createService,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  verifyLog,
  type LogRecord,
} from '../store/index.js';
import { spawnKeycast, stopChild, type Child, type ChildEvent } from './child.js';
import { enrol, RECEIVERS, segmentsEntitled, setUpCast, type CastMember } from './demo-cast.js';
import { demoChecks } from './demo-checks.js';
import { expectedOutput, matchesExpected } from './demo-expect.js';
import type { DemoOptions, DemoReceiver, DemoSummary } from './demo-types.js';
import {
  billedSeconds,
  decryptedAfter,
  removalRecord,
  serveSessionArgs,
  SESSION_MEMBERS,
  sessionChecks,
  sessionTiming,
  setUpSessionCast,
  suspendUntilEvicted,
  type SessionCastMember,
  type SessionStatsFile,
} from './demo-session.js';
import { readBytesOrEmpty, readLog, statusLegend, statusLine, tail } from './demo-util.js';

export type * from './demo-types.js';

export const SAMPLE_PATH = fileURLToPath(new URL('../../samples/sample.ts', import.meta.url));

/** The sequence number wraps after this many packets, or after a third of a shorter input. */
const WRAP_AFTER_PACKETS = 700;

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const dir = await mkdtemp(join(tmpdir(), 'keycast-demo-'));
  const data = join(dir, 'data');
  const children: Child[] = [];
  try {
    return await demoIn(dir, data, opts, children);
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}

async function demoIn(dir: string, data: string, opts: DemoOptions, children: Child[]): Promise<DemoSummary> {
  const inputBytes = await readFile(opts.input);
  const packetsEstimate = Math.floor(inputBytes.length / (TS_PACKETS_PER_RTP * TS_PACKET_BYTES));
  const wrapAfterPackets = Math.max(1, Math.min(WRAP_AFTER_PACKETS, Math.floor(packetsEstimate / 3)));
  const initialSeq = 0x10000 - wrapAfterPackets;

  await initDataDir(data);
  const store = openDataDirStore(data);
  try {
    const secrets = loadServerSecrets(data);
    const service = await createService(store, { name: 'demo-sports' });
    // A random group and port, so that demos and tests running side by side do not hear each other.
    const group = `239.255.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    const port = 20_000 + 4 * Math.floor(Math.random() * 10_000);
    const programme = await createProgramme(store, {
      serviceId: service.id,
      name: 'demo-match',
      group,
      port,
      segmentLengthMs: opts.segmentLengthMs,
      cryptoPeriodMs: opts.cryptoPeriodMs,
      keyChange: opts.keyChange,
      profile: opts.profile,
    });
    opts.status(
      `programme ${programme.id} on ${group}:${port} (keys on :${programme.keyPort}, SRTP ${programme.profile}, key change by ${programme.keyChange}); working directory ${dir}${opts.keep ? ' (kept: outputs, logs, stats; the key server data in data/)' : ''}`,
    );
    // The second programme, sold per minute of session membership, on its own group, with its own sender.
    let sessionGroup = group;
    while (sessionGroup === group)
      sessionGroup = `239.255.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    const sessionProgramme = await createProgramme(store, {
      serviceId: service.id,
      name: 'demo-session',
      group: sessionGroup,
      port: port + 4,
      segmentLengthMs: opts.segmentLengthMs,
      cryptoPeriodMs: opts.cryptoPeriodMs,
      keyChange: opts.keyChange,
      profile: opts.profile,
      pricing: 'session',
    });
    const timing = sessionTiming(opts.speed, inputBytes, packetsEstimate);
    opts.status(
      `programme ${sessionProgramme.id} (per minute, session) on ${sessionGroup}:${port + 4}; rekey ${opts.rekey}, keep-alive every ${timing.keepAliveIntervalMs} ms, expiry ${timing.memberExpiryMs} ms`,
    );

    const server = spawnKeycast(
      'key-server',
      // A window wide enough that receivers asking at the same moment share one multicast message even on a busy host.
      [
        'serve',
        '--data',
        data,
        '--port',
        '0',
        '--collect-window-ms',
        '200',
        ...serveSessionArgs(opts.rekey, timing),
      ],
      join(dir, 'key-server.log'),
    );
    children.push(server);
    const url = String((await server.waitFor('listening')).url);
    opts.status(`key server listening on ${url}`);

    const ctx = {
      dir,
      store,
      secrets,
      serverUrl: url,
      serviceId: service.id,
      programmeId: programme.id,
      children,
    };
    const sender = await enrol(ctx, 'sender', 'sender');
    const cast = await setUpCast(ctx);
    const sessionCast = await setUpSessionCast({ ...ctx, programmeId: sessionProgramme.id }, timing);
    const everyone = [...RECEIVERS, ...SESSION_MEMBERS];

    const progress = new Map<string, ChildEvent>();
    let onSenderProgress: (e: ChildEvent) => void = () => undefined;
    let onSessionSenderProgress: (e: ChildEvent) => void = () => undefined;
    const track = (name: string) => (e: ChildEvent) => {
      if (e.event !== 'progress') return;
      progress.set(name, e);
      if (name === 'sender') onSenderProgress(e);
      if (name === 'session-sender') onSessionSenderProgress(e);
    };
    const startReceiver = (
      r: CastMember | SessionCastMember,
      programmeId: number = programme.id,
      more: readonly string[] = [],
    ): Child => {
      const child = spawnKeycast(
        r.spec.name,
        [
          'receive',
          '--credentials',
          r.client.path,
          '--programme',
          String(programmeId),
          '--output',
          r.output,
          '--stats-file',
          r.stats,
          '--progress',
          ...r.extraArgs,
          ...more,
        ],
        join(dir, `${r.spec.name}.log`),
        track(r.spec.name),
      );
      children.push(child);
      return child;
    };
    const early = cast.filter((r) => r.spec.late !== true);
    const late = cast.filter((r) => r.spec.late === true);
    const receiverChildren = new Map(early.map((r) => [r.spec.name, startReceiver(r)]));
    for (const m of sessionCast.members)
      receiverChildren.set(m.spec.name, startReceiver(m, sessionProgramme.id));
    // Late joiners start up now (a process takes a while to start on a busy host) and join the group only when
    // their file appears, once the sender is past the wrap.
    const joinFile = (name: string) => join(dir, `${name}.join`);
    const lateChildren = new Map(
      late.map((r) => [r.spec.name, startReceiver(r, programme.id, ['--join-when', joinFile(r.spec.name)])]),
    );
    await Promise.all([
      ...[...receiverChildren.values()].map((c) => c.waitFor('ready')),
      ...[...lateChildren.values()].map((c) => c.waitFor('waiting')),
    ]);
    for (const [name, child] of lateChildren) receiverChildren.set(name, child);
    opts.status(
      `${early.length} receivers joined ${group}; ${late.map((r) => r.spec.name).join(', ')} joins once the RTP sequence number has wrapped (after ${wrapAfterPackets} packets); ${sessionCast.members.length} session members joined programme ${sessionProgramme.id}'s session (${sessionCast.members.find((m) => m.spec.role === 'leave')?.spec.name} leaves ${timing.leaveAfterMs} ms after its first decrypted packet)`,
    );
    opts.status(statusLegend(everyone));

    // The silent session member is suspended once the session sender is 10% in, resumed after its eviction.
    const silentMember = sessionCast.members.find((m) => m.spec.role === 'silent')!;
    let suspension: ReturnType<typeof suspendUntilEvicted> | undefined;
    onSessionSenderProgress = (e) => {
      if (suspension !== undefined || typeof e.packetsSent !== 'number') return;
      if (e.packetsSent < timing.suspendAtPackets) return;
      suspension = suspendUntilEvicted(
        receiverChildren.get(silentMember.spec.name)!,
        silentMember.client.id,
        store,
        timing,
        opts.status,
      );
    };

    // The sender reports progress every 50 packets: the first report at or past the wrap releases the late joiners.
    const senderPastWrap = new Promise<number>((resolve) => {
      onSenderProgress = (e) => {
        if (typeof e.packetsSent === 'number' && e.packetsSent >= wrapAfterPackets) resolve(e.packetsSent);
      };
    });
    const senderChild = spawnKeycast(
      'sender',
      [
        'send',
        '--credentials',
        sender.path,
        '--programme',
        String(programme.id),
        '--input',
        opts.input,
        '--speed',
        String(opts.speed),
        '--initial-seq',
        String(initialSeq),
        '--progress',
      ],
      join(dir, 'sender.log'),
      track('sender'),
    );
    children.push(senderChild);
    const sessionStartedAtMs = Date.now();
    const sessionSenderChild = spawnKeycast(
      'session-sender',
      [
        'send',
        '--credentials',
        sessionCast.sender.path,
        '--programme',
        String(sessionProgramme.id),
        '--input',
        opts.input,
        '--speed',
        String(opts.speed),
        '--progress',
      ],
      join(dir, 'session-sender.log'),
      track('session-sender'),
    );
    children.push(sessionSenderChild);
    const ticker = setInterval(() => opts.status(statusLine(progress, everyone)), 1000);

    const joinedAfter = new Map<string, number>();
    const lateJoin = (async () => {
      const past = await Promise.race([senderPastWrap, senderChild.exited.then(() => undefined)]);
      if (past === undefined)
        throw new Error(
          `the sender finished before its sequence number wrapped (${wrapAfterPackets} packets)`,
        );
      for (const r of late) {
        const child = lateChildren.get(r.spec.name)!;
        await writeFile(joinFile(r.spec.name), '');
        await child.waitFor('ready');
        // At least this many packets had gone before it joined: every packet it hears comes after the wrap.
        joinedAfter.set(r.spec.name, past);
        opts.status(`${r.spec.name} joined ${group} with the sender past packet ${past} (ROC 1)`);
      }
    })();
    lateJoin.catch(() => undefined);

    const [senderExit, sessionSenderExit] = await Promise.all([
      senderChild.exited,
      sessionSenderChild.exited,
    ]);
    clearInterval(ticker);
    suspension?.resume();
    const suspended = await suspension?.done;
    if (senderExit !== 0)
      throw new Error(
        `sender exited with ${senderExit}; the end of its log:\n${await tail(join(dir, 'sender.log'), 10)}`,
      );
    if (sessionSenderExit !== 0)
      throw new Error(
        `session sender exited with ${sessionSenderExit}; the end of its log:\n${await tail(join(dir, 'session-sender.log'), 10)}`,
      );
    await lateJoin;
    const sent: Partial<Record<string, unknown>> = senderChild.last.get('done') ?? {};
    const ranges = (sent.segmentRanges ?? []) as SegmentRange[];
    const sessionSent: Partial<Record<string, unknown>> = sessionSenderChild.last.get('done') ?? {};
    const sessionRanges = (sessionSent.segmentRanges ?? []) as SegmentRange[];

    // Let the last datagrams land, then ask the receivers to finish and write their stats.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([...receiverChildren.values()].map((c) => stopChild(c)));
    await stopChild(server);

    const segments = Number(sent.segments ?? 0);
    const results: DemoReceiver[] = [];
    for (const r of cast) {
      results.push(
        await receiverResult(r, inputBytes, ranges, segments, joinedAfter.get(r.spec.name) ?? null),
      );
    }

    const records = await readLog(store);
    const sessionResults: DemoReceiver[] = [];
    const sessionStats = new Map<string, SessionStatsFile>();
    for (const m of sessionCast.members) {
      const r = await sessionMemberResult(m, inputBytes, sessionRanges, records, sessionProgramme.id);
      sessionResults.push(r.result);
      sessionStats.set(m.spec.name, r.stats);
    }
    // The attacker check saw something: the stayers decrypted packets under keys issued after both removals.
    const removals = sessionResults
      .filter((r) => r.removedBy !== null)
      .map((r) => removalRecord(records, r.clientId, sessionProgramme.id)?.timeMs ?? Infinity);
    const lastRemoval = Math.max(...removals);
    const stayerPacketsAfterRemovals = Math.min(
      ...SESSION_MEMBERS.filter((m) => m.role === 'stay').map((m) =>
        decryptedAfter(sessionStats.get(m.name)?.decryptedByKey ?? [], lastRemoval),
      ),
    );
    const groupRekeys = records.filter(
      (r) => r.event === 'group_rekey' && r.programmeId === sessionProgramme.id,
    ).length;
    results.push(...sessionResults);

    const chain = await verifyLog(store);
    const plan: RatePlan = {
      version: 1,
      currency: 'EUR',
      subscriptions: [{ serviceId: service.id, periodPrice: 1500 }],
      segments: [{ programmeId: programme.id, price: 25 }],
      sessions: [{ programmeId: sessionProgramme.id, minutePrice: 5 }],
      defaultSegmentPrice: 30,
    };
    const invoice = rateLog(records, plan);
    const keysRotated = Number(sent.keysRotated ?? 0);
    const checks = [
      ...demoChecks({
        receivers: results.filter((r) => r.entitlement !== 'session'),
        ranges,
        segments,
        keysRotated,
        inputBytes: inputBytes.length,
        wrapAfterPackets,
        chainIntact: chain.ok,
        invoice,
      }),
      ...sessionChecks({
        mode: opts.rekey,
        receivers: sessionResults,
        inputBytes: inputBytes.length,
        groupRekeys,
        stayerPacketsAfterRemovals,
        silentEvicted: suspended?.evicted === true,
        invoice,
      }),
    ];
    return {
      ok: checks.every((c) => c.ok),
      profile: programme.profile,
      checks,
      input: { path: opts.input, sha256: sha256Hex(inputBytes), bytes: inputBytes.length },
      sender: {
        packetsSent: Number(sent.packetsSent ?? 0),
        keysRotated,
        segments,
        initialSeq,
        wrapAfterPackets,
        segmentRanges: ranges,
      },
      keysRotated,
      session: {
        programmeId: sessionProgramme.id,
        mode: opts.rekey,
        keepAliveIntervalMs: timing.keepAliveIntervalMs,
        memberExpiryMs: timing.memberExpiryMs,
        packetsSent: Number(sessionSent.packetsSent ?? 0),
        keysRotated: Number(sessionSent.keysRotated ?? 0),
        groupRekeys,
        senderStartedAtMs: sessionStartedAtMs,
        silentSuspendedForMs:
          suspended === undefined ? null : suspended.resumedAtMs - suspended.suspendedAtMs,
      },
      receivers: results,
      log: { records: records.length, chainIntact: chain.ok },
      billing: { ...invoice, plan },
      dataDir: opts.keep ? data : null,
      workDir: opts.keep ? dir : null,
    };
  } finally {
    await store.close();
  }
}

/** What one receiver reported and wrote, against the part of the input it was entitled to. */
async function receiverResult(
  r: CastMember,
  input: Uint8Array,
  ranges: readonly SegmentRange[],
  segments: number,
  joinedAfterSenderPackets: number | null,
): Promise<DemoReceiver> {
  const stats = JSON.parse(await readFile(r.stats, 'utf8')) as Partial<ReceiverStatsFile>;
  if (stats.packetsReceived === undefined)
    throw new Error(`${r.spec.name} wrote no stats to ${r.stats}: did it stop cleanly?`);
  const s = stats as ReceiverStatsFile;
  const output = await readBytesOrEmpty(r.output);
  const entitledTo = segmentsEntitled(r.spec, segments);
  const first = s.firstDecryptedIndex ?? null;
  const expected = expectedOutput(ranges, entitledTo, first ?? undefined);
  return {
    name: r.spec.name,
    clientId: r.client.id,
    entitled: r.spec.entitlement !== 'none',
    entitlement: r.spec.entitlement,
    segmentsEntitled: entitledTo,
    ...outputFields(input, output, expected, first),
    joinedAfterSenderPackets,
    packetsReceived: s.packetsReceived,
    packetsDecrypted: s.packetsDecrypted,
    packetsRejected: s.packetsRejected,
    rejectedByReason: s.rejectedByReason,
    srtcp: srtcpFields(s.srtcp),
    segmentKeyRequests: s.segmentKeyRequests,
    keyRequests: s.keyRequests,
    segmentKeysFromMulticast: s.segmentKeysFromMulticast,
    segmentKeysAddressed: s.segmentKeysAddressed ?? 0,
    refusals: s.refusals,
    leftAt: null,
    removedBy: null,
    packetsDecryptedAfterRemoval: null,
    billedSeconds: null,
    groupEpoch: null,
    acks: null,
    keepAlives: null,
  };
}

/**
 * A session member's result: its output against the input (the whole input for a stayer; a prefix for the others),
 * its removal as the key server logged it, and the packets it decrypted under keys issued after that.
 */
async function sessionMemberResult(
  m: SessionCastMember,
  input: Uint8Array,
  ranges: readonly SegmentRange[],
  records: readonly LogRecord[],
  programmeId: number,
): Promise<{ result: DemoReceiver; stats: SessionStatsFile }> {
  const stats = JSON.parse(await readFile(m.stats, 'utf8')) as Partial<SessionStatsFile>;
  if (stats.packetsReceived === undefined || stats.decryptedByKey === undefined)
    throw new Error(`${m.spec.name} wrote no session stats to ${m.stats}: did it stop cleanly?`);
  const s = stats as SessionStatsFile;
  const output = await readBytesOrEmpty(m.output);
  const all = ranges.map((r) => r.segment);
  const first = s.firstDecryptedIndex ?? null;
  const full = expectedOutput(ranges, all, first ?? undefined);
  // A member that left (or was removed) stops partway: its output must be the expected bytes up to where it stopped.
  const from = full.slices[0]?.start;
  const expected =
    m.spec.role === 'stay' || from === undefined
      ? full
      : {
          slices: [{ start: from, end: Math.min(input.length, from + output.length) }],
          bytes: output.length,
        };
  const removal = removalRecord(records, m.client.id, programmeId);
  const removedAt = s.removedBy === null ? undefined : (removal?.timeMs ?? s.leftAt);
  const afterRemoval =
    removedAt === undefined
      ? 0
      : Math.max(s.packetsDecryptedAfterRemoval, decryptedAfter(s.decryptedByKey, removedAt));
  const result: DemoReceiver = {
    name: m.spec.name,
    clientId: m.client.id,
    entitled: true,
    entitlement: 'session',
    segmentsEntitled: all,
    ...outputFields(input, output, expected, first),
    joinedAfterSenderPackets: null,
    packetsReceived: s.packetsReceived,
    packetsDecrypted: s.packetsDecrypted,
    packetsRejected: s.packetsRejected,
    rejectedByReason: s.rejectedByReason,
    srtcp: srtcpFields(s.srtcp),
    segmentKeyRequests: 0,
    keyRequests: 0,
    segmentKeysFromMulticast: 0,
    segmentKeysAddressed: 0,
    refusals: [],
    leftAt: s.removedBy === null ? null : (removedAt ?? null),
    removedBy: s.removedBy,
    packetsDecryptedAfterRemoval: afterRemoval,
    billedSeconds: billedSeconds(records, m.client.id, programmeId),
    groupEpoch: s.groupEpoch ?? null,
    acks: s.acks,
    keepAlives: s.keepAlives,
  };
  return { result, stats: s };
}

interface SrtcpStatsFile {
  received: number;
  accepted: number;
  rejectedByReason: Record<string, number>;
}

function srtcpFields(s: SrtcpStatsFile | undefined): DemoReceiver['srtcp'] {
  return s === undefined
    ? null
    : { received: s.received, accepted: s.accepted, rejectedByReason: s.rejectedByReason };
}

interface ReceiverStatsFile {
  srtcp?: SrtcpStatsFile;
  packetsReceived: number;
  packetsDecrypted: number;
  packetsRejected: number;
  rejectedByReason: Record<string, number>;
  segmentKeyRequests: number;
  keyRequests: number;
  segmentKeysFromMulticast: number;
  segmentKeysAddressed?: number;
  refusals: { segment: number; code: string }[];
  firstDecryptedIndex?: number;
}

/** What a receiver's output is, against the part of the input it should be (both kinds of receiver). */
function outputFields(
  input: Uint8Array,
  output: Uint8Array,
  expected: ReturnType<typeof expectedOutput>,
  first: number | null,
): Pick<
  DemoReceiver,
  'identical' | 'expected' | 'outputSha256' | 'outputBytes' | 'firstDecryptedIndex' | 'firstDecryptedRoc'
> {
  return {
    identical: matchesExpected(input, output, expected),
    expected: {
      fromByte: expected.slices[0]?.start ?? null,
      toByte: expected.slices.at(-1)?.end ?? null,
      bytes: expected.bytes,
    },
    outputSha256: sha256Hex(output),
    outputBytes: output.length,
    firstDecryptedIndex: first,
    firstDecryptedRoc: first === null ? null : Math.floor(first / 0x10000),
  };
}
