// `keycast demo`: the whole system on the shipped sample, on this host only. A key server, a sender and five
// receivers (demo-cast.ts) run as separate processes on loopback multicast (interface 127.0.0.1, TTL 0); the demo
// sets up a temporary data directory, watches, then checks every claim it can see (demo-checks.ts) and prints the
// bill. The sender starts its RTP sequence number a few hundred packets below 2^16, so that it wraps early in the
// programme; the late joiner starts only once the sender reports packets past the wrap.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
} from '../store/index.js';
import { spawnKeycast, stopChild, type Child, type ChildEvent } from './child.js';
import { enrol, RECEIVERS, segmentsEntitled, setUpCast, type CastMember } from './demo-cast.js';
import { demoChecks } from './demo-checks.js';
import { expectedOutput, matchesExpected } from './demo-expect.js';
import type { DemoOptions, DemoReceiver, DemoSummary } from './demo-types.js';
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
    });
    opts.status(
      `programme ${programme.id} on ${group}:${port} (keys on :${programme.keyPort}), data in ${data}`,
    );

    const server = spawnKeycast(
      'key-server',
      // A window wide enough that receivers asking at the same moment share one multicast message even on a busy host.
      ['serve', '--data', data, '--port', '0', '--collect-window-ms', '200'],
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

    const progress = new Map<string, ChildEvent>();
    let onSenderProgress: (e: ChildEvent) => void = () => undefined;
    const track = (name: string) => (e: ChildEvent) => {
      if (e.event !== 'progress') return;
      progress.set(name, e);
      if (name === 'sender') onSenderProgress(e);
    };
    const startReceiver = (r: CastMember): Child => {
      const child = spawnKeycast(
        r.spec.name,
        [
          'receive',
          '--credentials',
          r.client.path,
          '--programme',
          String(programme.id),
          '--output',
          r.output,
          '--stats-file',
          r.stats,
          '--progress',
          ...r.extraArgs,
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
    await Promise.all([...receiverChildren.values()].map((c) => c.waitFor('ready')));
    opts.status(
      `${early.length} receivers joined ${group}; ${late.map((r) => r.spec.name).join(', ')} joins once the RTP sequence number has wrapped (after ${wrapAfterPackets} packets)`,
    );
    opts.status(statusLegend(RECEIVERS));

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
    const ticker = setInterval(() => opts.status(statusLine(progress, RECEIVERS)), 1000);

    const joinedAfter = new Map<string, number>();
    const lateJoin = (async () => {
      const past = await Promise.race([senderPastWrap, senderChild.exited.then(() => undefined)]);
      if (past === undefined)
        throw new Error(
          `the sender finished before its sequence number wrapped (${wrapAfterPackets} packets)`,
        );
      for (const r of late) {
        const child = startReceiver(r);
        receiverChildren.set(r.spec.name, child);
        await child.waitFor('ready');
        // At least this many packets had gone before it joined: every packet it hears comes after the wrap.
        joinedAfter.set(r.spec.name, past);
        opts.status(`${r.spec.name} joined ${group} with the sender past packet ${past} (ROC 1)`);
      }
    })();
    lateJoin.catch(() => undefined);

    const senderExit = await senderChild.exited;
    clearInterval(ticker);
    if (senderExit !== 0)
      throw new Error(
        `sender exited with ${senderExit}; the end of its log:\n${await tail(join(dir, 'sender.log'), 10)}`,
      );
    await lateJoin;
    const sent: Partial<Record<string, unknown>> = senderChild.last.get('done') ?? {};
    const ranges = (sent.segmentRanges ?? []) as SegmentRange[];

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
    const chain = await verifyLog(store);
    const plan: RatePlan = {
      version: 1,
      currency: 'EUR',
      subscriptions: [{ serviceId: service.id, periodPrice: 1500 }],
      segments: [{ programmeId: programme.id, price: 25 }],
      defaultSegmentPrice: 30,
    };
    const invoice = rateLog(records, plan);
    const keysRotated = Number(sent.keysRotated ?? 0);
    const checks = demoChecks({
      receivers: results,
      ranges,
      segments,
      keysRotated,
      inputBytes: inputBytes.length,
      wrapAfterPackets,
      chainIntact: chain.ok,
      invoice,
    });
    return {
      ok: checks.every((c) => c.ok),
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
      receivers: results,
      log: { records: records.length, chainIntact: chain.ok },
      billing: { ...invoice, plan },
      dataDir: opts.keep ? data : null,
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
    joinedAfterSenderPackets,
    packetsReceived: s.packetsReceived,
    packetsDecrypted: s.packetsDecrypted,
    packetsRejected: s.packetsRejected,
    rejectedByReason: s.rejectedByReason,
    segmentKeyRequests: s.segmentKeyRequests,
    keyRequests: s.keyRequests,
    segmentKeysFromMulticast: s.segmentKeysFromMulticast,
    segmentKeysAddressed: s.segmentKeysAddressed ?? 0,
    refusals: s.refusals,
  };
}

interface ReceiverStatsFile {
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
