// `keycast demo`: the whole system on the shipped sample, on this host only. A key server, a sender and three
// receivers run as separate processes on loopback multicast (interface 127.0.0.1, TTL 0); the demo sets up a
// temporary data directory, watches, then checks every claim it can see and prints the bill. The subscriber buys its
// subscription through the key server's API (`keycast purchase subscription`) and keeps the service key it gets;
// from then on it takes every segment key from the multicast, wrapped under that service key (claims 9-11).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../crypto/mac.js';
import { rateLog, type Invoice } from '../billing/rate.js';
import type { RatePlan } from '../billing/rate-plan.js';
import { asSegmentIndex } from '../ids.js';
import { writeCredentialsFile } from '../keys/credentials.js';
import {
  createProgramme,
  createService,
  enrolClient,
  grantSegments,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  periodOf,
  verifyLog,
  type LogRecord,
  type Store,
} from '../store/index.js';
import { spawnKeycast, stopChild, type Child, type ChildEvent } from './child.js';

export const SAMPLE_PATH = fileURLToPath(new URL('../../samples/sample.ts', import.meta.url));

export interface DemoOptions {
  readonly input: string;
  readonly speed: number;
  readonly json: boolean;
  readonly keep: boolean;
  readonly cryptoPeriodMs: number;
  readonly segmentLengthMs: number;
  readonly status: (line: string) => void;
}

export interface DemoReceiver {
  readonly name: string;
  readonly clientId: number;
  readonly entitled: boolean;
  readonly entitlement: string;
  readonly identical: boolean;
  readonly outputSha256: string;
  readonly outputBytes: number;
  readonly packetsReceived: number;
  readonly packetsDecrypted: number;
  readonly packetsRejected: number;
  readonly rejectedByReason: Record<string, number>;
  readonly segmentKeyRequests: number;
  /** Every key request the receiver made over HTTP (segment keys and service keys), after any purchase. */
  readonly keyRequests: number;
  /** Segment keys it took from the multicast under its service key. */
  readonly segmentKeysFromMulticast: number;
  readonly refusals: readonly { segment: number; code: string }[];
}

export interface DemoSummary {
  readonly ok: boolean;
  readonly checks: readonly { name: string; ok: boolean }[];
  readonly input: { path: string; sha256: string; bytes: number };
  readonly sender: { packetsSent: number; keysRotated: number; segments: number };
  readonly keysRotated: number;
  readonly receivers: readonly DemoReceiver[];
  readonly log: { records: number; chainIntact: boolean };
  readonly billing: Invoice & { readonly plan: RatePlan };
  readonly dataDir: string | null;
}

interface ReceiverSpec {
  readonly name: string;
  readonly entitlement: 'subscription' | 'per_segment' | 'none';
}

const RECEIVERS: readonly ReceiverSpec[] = [
  { name: 'subscriber', entitlement: 'subscription' },
  { name: 'pay-per-segment', entitlement: 'per_segment' },
  { name: 'no-entitlement', entitlement: 'none' },
];

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
      ['serve', '--data', data, '--port', '0'],
      join(dir, 'key-server.log'),
    );
    children.push(server);
    const url = String((await server.waitFor('listening')).url);
    opts.status(`key server listening on ${url}`);

    const enrol = async (name: string, role: 'sender' | 'receiver') => {
      const { client, credentials } = await enrolClient(store, secrets, { name, role, serverUrl: url });
      const path = join(dir, `${name}.credentials.json`);
      await writeCredentialsFile(path, credentials);
      return { id: client.id, path };
    };
    const sender = await enrol('sender', 'sender');
    const receivers: {
      spec: ReceiverSpec;
      client: { id: number; path: string };
      output: string;
      stats: string;
      extraArgs: string[];
    }[] = [];
    for (const spec of RECEIVERS) {
      const c = await enrol(spec.name, 'receiver');
      const extraArgs: string[] = [];
      if (spec.entitlement === 'subscription') {
        // Bought through the API; the service key it delivers is kept for the receiver.
        const keyFile = join(dir, `${spec.name}.service-key.json`);
        const buyer = spawnKeycast(
          `${spec.name}-purchase`,
          [
            'purchase',
            'subscription',
            '--credentials',
            c.path,
            '--service',
            String(service.id),
            '--period',
            periodOf(Date.now()),
            '--out',
            keyFile,
          ],
          join(dir, `${spec.name}-purchase.log`),
        );
        children.push(buyer);
        if ((await buyer.exited) !== 0) {
          throw new Error(
            `the subscription purchase failed; the end of its log:\n${await tail(join(dir, `${spec.name}-purchase.log`), 10)}`,
          );
        }
        extraArgs.push('--service-key', keyFile);
      } else if (spec.entitlement === 'per_segment') {
        await grantSegments(store, {
          clientId: c.id,
          programmeId: programme.id,
          fromSegment: asSegmentIndex(0),
        });
      }
      receivers.push({
        spec,
        client: c,
        output: join(dir, `${spec.name}.ts`),
        stats: join(dir, `${spec.name}.stats.json`),
        extraArgs,
      });
    }

    const progress = new Map<string, ChildEvent>();
    const track = (name: string) => (e: ChildEvent) => {
      if (e.event === 'progress') progress.set(name, e);
    };
    const receiverChildren = receivers.map((r) => {
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
    });
    await Promise.all(receiverChildren.map((c) => c.waitFor('ready')));
    opts.status(`${receivers.length} receivers joined ${group}`);

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
        '--progress',
      ],
      join(dir, 'sender.log'),
      track('sender'),
    );
    children.push(senderChild);
    const ticker = setInterval(
      () =>
        opts.status(
          statusLine(
            progress,
            receivers.map((r) => r.spec.name),
          ),
        ),
      1000,
    );
    const senderExit = await senderChild.exited;
    clearInterval(ticker);
    if (senderExit !== 0)
      throw new Error(
        `sender exited with ${senderExit}; the end of its log:\n${await tail(join(dir, 'sender.log'), 10)}`,
      );
    const sent: Partial<Record<string, unknown>> = senderChild.last.get('done') ?? {};

    // Let the last datagrams land, then ask the receivers to finish and write their stats.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(receiverChildren.map((c) => stopChild(c)));
    await stopChild(server);

    const input = await fileDigest(opts.input);
    const results: DemoReceiver[] = [];
    for (const r of receivers) {
      const stats = JSON.parse(await readFile(r.stats, 'utf8')) as ReceiverStatsFile;
      const out = await fileDigest(r.output);
      results.push({
        name: r.spec.name,
        clientId: r.client.id,
        entitled: r.spec.entitlement !== 'none',
        entitlement: r.spec.entitlement,
        identical: out.sha256 === input.sha256 && out.bytes === input.bytes,
        outputSha256: out.sha256,
        outputBytes: out.bytes,
        packetsReceived: stats.packetsReceived,
        packetsDecrypted: stats.packetsDecrypted,
        packetsRejected: stats.packetsRejected,
        rejectedByReason: stats.rejectedByReason,
        segmentKeyRequests: stats.segmentKeyRequests,
        keyRequests: stats.keyRequests,
        segmentKeysFromMulticast: stats.segmentKeysFromMulticast,
        refusals: stats.refusals,
      });
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
    const segments = Number(sent.segments ?? 0);
    const checks = [
      ...results
        .filter((r) => r.entitled)
        .map((r) => ({ name: `${r.name}: output byte-identical to the input`, ok: r.identical })),
      ...results
        .filter((r) => !r.entitled)
        .map((r) => ({
          name: `${r.name}: decrypted 0 packets and was refused`,
          ok: r.packetsDecrypted === 0 && r.refusals.some((x) => x.code === 'not_entitled'),
        })),
      { name: 'keys rotated during the programme', ok: Number(sent.keysRotated ?? 0) > 0 },
      { name: 'request log hash chain intact', ok: chain.ok },
      {
        name: 'pay-per-segment client billed once per segment',
        ok: invoice.lines.some(
          (l) => l.client === receivers[1]!.client.id && l.quantity === segments && segments > 0,
        ),
      },
      {
        name: 'subscriber: every segment key by multicast under its service key, 0 key requests after its purchase',
        ok:
          results[0]!.keyRequests === 0 && segments > 0 && results[0]!.segmentKeysFromMulticast === segments,
      },
      {
        name: 'subscriber billed one subscription period',
        ok: invoice.lines.some((l) => l.client === receivers[0]!.client.id && l.quantity === 1),
      },
    ];
    return {
      ok: checks.every((c) => c.ok),
      checks,
      input: { path: opts.input, ...input },
      sender: {
        packetsSent: Number(sent.packetsSent ?? 0),
        keysRotated: Number(sent.keysRotated ?? 0),
        segments,
      },
      keysRotated: Number(sent.keysRotated ?? 0),
      receivers: results,
      log: { records: records.length, chainIntact: chain.ok },
      billing: { ...invoice, plan },
      dataDir: opts.keep ? data : null,
    };
  } finally {
    await store.close();
  }
}

interface ReceiverStatsFile {
  packetsReceived: number;
  packetsDecrypted: number;
  packetsRejected: number;
  rejectedByReason: Record<string, number>;
  segmentKeyRequests: number;
  keyRequests: number;
  segmentKeysFromMulticast: number;
  refusals: { segment: number; code: string }[];
}

async function readLog(store: Store): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const page = await store.transact((tx) => tx.log.range(out.length + 1, 1000));
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

async function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    bytes = new Uint8Array(0);
  }
  return { sha256: sha256Hex(bytes), bytes: bytes.length };
}

function statusLine(progress: Map<string, ChildEvent>, names: readonly string[]): string {
  const n = (e: ChildEvent | undefined, field: string): string => {
    const v = e?.[field];
    return typeof v === 'number' ? String(v) : '-';
  };
  const s = progress.get('sender');
  const parts = [
    `sender: ${n(s, 'packetsSent')} pkts, key ${n(s, 'keyId')}, ${n(s, 'keysRotated')} rotations`,
  ];
  for (const name of names) {
    const r = progress.get(name);
    parts.push(`${name}: ${n(r, 'packetsDecrypted')} decrypted / ${n(r, 'packetsRejected')} rejected`);
  }
  return parts.join(' | ');
}

/** The last `lines` lines of a log file, for an error message. */
async function tail(path: string, lines: number): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
