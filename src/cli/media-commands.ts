// `keycast send`, `keycast receive` and `keycast demo`: the media side of the CLI.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { asSsrc } from '../ids.js';
import { readCredentialsFile } from '../keys/credentials.js';
import { SRTP_PROFILE_NAMES, runSrtpSelfTest } from '../srtp/index.js';
import { DEFAULT_PROFILE } from '../packet/profile-code.js';
import { readServiceKeyFile } from '../keys/service-key-file.js';
import { KeyServerClient, KeyServerRefusalError, openWrappedServiceKey } from '../server/client.js';
import { assertMpegTsFile, parseMediaInput, readMedia } from '../sender/media-source.js';
import { Sender } from '../sender/sender.js';
import { keyMessageOpener } from '../receiver/open-key-message.js';
import { Receiver } from '../receiver/receiver.js';
import { segmentKeyFetcher } from '../receiver/segment-keys.js';
import { serviceKeyFetcher } from '../receiver/service-keys.js';
import { sessionApi } from '../receiver/session-api.js';
import { fileSink, forwardSink, type MediaSink } from '../receiver/sinks.js';
import { SAMPLE_PATH, runDemo, type DemoSummary } from './demo.js';
import { cliLogger, emit, untilSignal } from './output.js';
import {
  addStaticReceiveOptions,
  runStaticReceive,
  wantsStaticKeys,
  type StaticReceiveOptions,
} from './static-receive.js';
import { durationMs, intOption } from './operator-util.js';

const LOOPBACK = '127.0.0.1';

function speedOption(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1000)
    throw new InvalidArgumentError('speed must be a number in (0, 1000]');
  return n;
}

/** How long a starting sender or receiver keeps trying to reach the key server. */
const CONNECT_PATIENCE_MS = 30_000;

/**
 * Loads the credentials and the programme. A key server that is not up yet (started in the same breath, or
 * restarting) is retried with backoff for CONNECT_PATIENCE_MS; a refusal is final at once.
 */
async function connect(
  credentialsPath: string,
  programmeId: number,
  log: Logger,
  opts: { role?: 'sender' | 'receiver'; serverUrl?: string | undefined } = {},
) {
  const credentials = await readCredentialsFile(credentialsPath);
  if (opts.role !== undefined && credentials.role !== opts.role) {
    throw new Error(
      `${credentialsPath} is for a ${credentials.role}; this command needs a ${opts.role}'s credentials`,
    );
  }
  const client = new KeyServerClient(
    credentials,
    opts.serverUrl === undefined ? {} : { serverUrl: opts.serverUrl },
  );
  const t0 = Date.now();
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 4000)) {
    const r = await client.getProgramme(programmeId);
    if (r.ok) return { credentials, client, programme: r.programme };
    if (!r.retryable || Date.now() - t0 > CONNECT_PATIENCE_MS) throw new KeyServerRefusalError(r);
    log.warn({ code: r.code, retryInMs: delayMs }, 'key server not reachable yet; retrying');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

export function registerMediaCommands(program: Command): void {
  program
    .command('send')
    .description('encrypt an MPEG-TS programme as SRTP and multicast it, rotating content keys')
    .requiredOption('--credentials <file>', "the sender's credentials file (role sender)")
    .requiredOption('--programme <id>', 'programme id', intOption('programme', 1, 0xffffffff))
    .requiredOption(
      '--input <src>',
      'an MPEG-TS file, udp://HOST:PORT (raw TS) or rtp://HOST:PORT (RTP/MP2T)',
    )
    .option('--speed <x>', 'pace by the PCR at this multiple of real time', speedOption, 1)
    .option('--fast', 'same as --speed 8 (tests)')
    .addOption(duration('--lead <duration>', 'announce each content key at least this long before use', 1000))
    .addOption(duration('--carousel <duration>', 'repeat key messages this often', 250))
    .option('--ssrc <n>', 'RTP SSRC (default random)', intOption('ssrc', 1, 0xffffffff))
    .option(
      '--initial-seq <n>',
      'first RTP sequence number (default random below 2^15)',
      intOption('seq', 0, 0xffff),
    )
    .addOption(new Option('--interface <addr>', 'multicast interface address').default(LOOPBACK))
    .option('--ttl <n>', 'multicast TTL (0 keeps packets on this host)', intOption('ttl', 0, 255), 0)
    .option('--no-rtcp', 'send no SRTCP sender reports (by default one a second on the RTP port + 1)')
    .option('--progress', 'print JSON progress lines on stdout')
    .option('--server-url <url>', "override the credentials' key server URL")
    .action(async (o: SendOptions) => {
      runSrtpSelfTest();
      const log = cliLogger('keycast-sender');
      const input = parseMediaInput(o.input);
      if (input.kind === 'file') await assertMpegTsFile(input.path);
      const { client, programme } = await connect(o.credentials, o.programme, log, {
        role: 'sender',
        serverUrl: o.serverUrl,
      });
      const live = input.kind !== 'file';
      const stop = untilSignal();
      const sender = new Sender({
        programme,
        speed: o.fast ? 8 : o.speed,
        paced: !live,
        leadMs: o.lead,
        carouselIntervalMs: Math.max(10, o.carousel),
        interfaceAddress: o.interface,
        ttl: o.ttl,
        log,
        rtcpIntervalMs: o.rtcp ? 1000 : 0,
        ...(o.ssrc !== undefined && { ssrc: asSsrc(o.ssrc) }),
        ...(o.initialSeq !== undefined && { initialSeq: o.initialSeq }),
        ...(o.progress && { onProgress: (p) => emit('progress', { ...p }) }),
        issueContentKey: async (req) => {
          const r = await client.issueContentKey({ programmeId: programme.id, ...req });
          if (!r.ok) throw new KeyServerRefusalError(r);
          return r;
        },
      });
      await sender.open();
      emit('ready', {
        ssrc: sender.ssrc,
        group: programme.group,
        port: programme.port,
        keyPort: programme.keyPort,
        ...(o.rtcp && { rtcpPort: programme.port + 1 }),
      });
      try {
        const done = await sender.run(readMedia(input, { signal: stop.signal }));
        emit('done', { ...done, segments: done.segment + 1, segmentRanges: sender.segmentRanges });
        log.info({ ...done }, 'programme sent');
      } finally {
        await sender.close();
      }
    });

  const receive = program
    .command('receive')
    .description(
      'join a programme, obtain keys, decrypt, and write or forward the original stream; or, with --sdp or --key, decrypt any standard SRTP stream with static keys (docs/interop.md)',
    )
    .option('--credentials <file>', "this receiver's credentials file (required without --sdp/--key)")
    .option(
      '--programme <id>',
      'programme id (required without --sdp/--key)',
      intOption('programme', 1, 0xffffffff),
    )
    .option('--output <file>', "write the recovered MPEG-TS here ('-': stdout, static keys only)")
    .addOption(
      new Option(
        '--forward <url>',
        'send to udp://127.0.0.1:PORT (TS) or rtp://127.0.0.1:PORT (RTP); repeatable',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(new Option('--interface <addr>', 'interface address to join the group on').default(LOOPBACK))
    .option('--stats-file <file>', 'write the counters as JSON here on exit')
    .addOption(duration('--hold <duration>', 'how long a packet may wait for its key', 3000))
    .option('--no-rtcp', 'do not listen for SRTCP sender reports on the RTP port + 1')
    .option('--progress', 'print JSON progress lines on stdout')
    .option('--server-url <url>', "override the credentials' key server URL")
    .addOption(
      new Option(
        '--service-key <file>',
        "a service key kept from `keycast purchase subscription --out`; repeatable. Without one the receiver asks for the current period's once",
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--segment-key-delivery <mode>',
        'multicast: the key server may answer several receivers asking at once with one message on the key port (claims 7-8); unicast: every key in its HTTP answer',
      )
        .choices(['multicast', 'unicast'])
        .default('multicast'),
    )
    .option(
      '--session',
      'join the programme as a session member (sold per minute): content keys under the group key, acks, keep-alives, leave on exit',
    )
    .option(
      '--keep-listening-after-removal',
      'after leaving or being removed, keep receiving and trying to decrypt as an attacker would (counts packetsDecryptedAfterRemoval)',
    )
    .addOption(
      new Option(
        '--leave-after <duration>',
        'send the leave message after watching this long (from the first decrypted packet)',
      ).argParser(durationMs),
    )
    .option(
      '--join-when <file>',
      'start up and connect, but join the group only once FILE exists (scripts and demos: start early, release at a chosen moment)',
    );
  addStaticReceiveOptions(receive).action(async (o: ReceiveOptions & StaticReceiveOptions) => {
    if (wantsStaticKeys(o)) {
      if (o.credentials !== undefined || o.programme !== undefined)
        throw new Error('--sdp/--key receive without a key server: leave out --credentials and --programme');
      return runStaticReceive(o);
    }
    if (o.credentials === undefined || o.programme === undefined)
      throw new Error(
        'receive needs --credentials and --programme (or static keys: --sdp FILE or --key KEY)',
      );
    await receiveProgramme({ ...o, credentials: o.credentials, programme: o.programme });
  });
  async function receiveProgramme(o: ReceiveOptions & { credentials: string; programme: number }) {
    const log = cliLogger('keycast-receiver');
    // Outputs first: a path that cannot be written fails now, not after the programme has started.
    let fail!: (err: Error) => void;
    const failed = new Promise<Error>((resolve) => (fail = resolve));
    if (o.statsFile !== undefined) await writeFile(o.statsFile, '{}\n');
    const sinks: MediaSink[] = [];
    if (o.output !== undefined) sinks.push(fileSink(o.output, fail));
    for (const f of o.forward) sinks.push(forwardSink(f));
    const { client, credentials, programme } = await connect(o.credentials, o.programme, log, {
      role: 'receiver',
      serverUrl: o.serverUrl,
    });
    if (programme.pricing === 'session' && o.session !== true)
      throw new Error(
        `programme ${programme.id} is sold per minute to session members: receive it with --session`,
      );
    if (sinks.length === 0) log.warn('no --output or --forward: decrypting and counting only');
    const serviceKeys = [];
    for (const path of o.serviceKey) {
      const f = await readServiceKeyFile(path);
      const opened = f.clientId === credentials.clientId ? openWrappedServiceKey(credentials, f) : undefined;
      if (opened === undefined || !opened.ok)
        throw new Error(`${path} is not a service key of client ${credentials.clientId} (${o.credentials})`);
      serviceKeys.push({ serviceId: f.serviceId, period: f.period, key: opened.key });
    }
    const receiver = new Receiver({
      programme,
      interfaceAddress: o.interface,
      sinks,
      log,
      holdMs: o.hold,
      rtcp: o.rtcp,
      openKeyMessage: keyMessageOpener(credentials.serverPublicKey, credentials),
      // One request per call: the receiver's retry rules (docs/operations.md "Retry rules") do the retrying.
      fetchSegmentKey: segmentKeyFetcher(credentials, {
        serverUrl: client.serverUrl,
        programmeId: programme.id,
        delivery: o.segmentKeyDelivery,
      }),
      serviceKeys,
      fetchServiceKey: serviceKeyFetcher(client),
      ...(o.session === true && {
        session: {
          serverPublicKey: credentials.serverPublicKey,
          api: sessionApi(client, programme.id),
          keepListeningAfterRemoval: o.keepListeningAfterRemoval === true,
        },
      }),
    });
    const stats = () => ({ ...receiver.stats, ...receiver.session?.stats });
    const stop = untilSignal();
    if (o.joinWhen !== undefined) {
      emit('waiting', { joinWhen: o.joinWhen });
      while (!existsSync(o.joinWhen) && !stop.signal.aborted) await new Promise((r) => setTimeout(r, 20));
    }
    await receiver.open();
    emit('ready', { group: programme.group, port: programme.port, keyPort: programme.keyPort });
    const ticker = o.progress ? setInterval(() => emit('progress', stats()), 500) : undefined;
    // --leave-after: the leave message mid-programme, counted from the first decrypted packet (a viewer who
    // watched that long); then stop, or keep listening as an attacker would.
    const left = new Promise<'left'>((resolve) => {
      const session = receiver.session;
      const leaveAfter = o.leaveAfter;
      if (leaveAfter === undefined || session === undefined) return;
      const watching = setInterval(() => {
        if (receiver.stats.packetsDecrypted === 0) return;
        clearInterval(watching);
        setTimeout(() => {
          void session.leave().then(() => {
            emit('left', { leftAt: session.stats.leftAt, removedBy: session.stats.removedBy });
            if (o.keepListeningAfterRemoval !== true) resolve('left');
          });
        }, leaveAfter).unref();
      }, 20);
      watching.unref();
    });
    const ended = await Promise.race([stop.promise, failed, left]);
    clearInterval(ticker);
    await receiver
      .close()
      .catch((err: unknown) => log.error({ err: String(err) }, 'closing the outputs failed'));
    if (o.statsFile !== undefined) await writeFile(o.statsFile, JSON.stringify(stats(), null, 2));
    emit('done', stats());
    log.info(stats(), 'receiver stopped');
    if (ended instanceof Error) throw new Error(`output failed: ${ended.message}`);
  }

  program
    .command('demo')
    .description(
      'the whole system on the shipped sample: key server, two senders, nine receivers (four in a session), billing',
    )
    .option('--input <file>', 'MPEG-TS file to send', SAMPLE_PATH)
    .option('--speed <x>', 'multiple of real time', speedOption, 1)
    .addOption(duration('--crypto-period <duration>', 'content key lifetime', 2000))
    .addOption(duration('--segment-length <duration>', 'programme segment length', 8000))
    .addOption(
      new Option(
        '--key-change <mode>',
        'how packets signal a key change: the SRTP MKI or the RTP padding bit',
      )
        .choices(['mki', 'phase'])
        .default('mki'),
    )
    .option('--json', 'print the summary as JSON on stdout')
    .option('--keep', 'keep the data directory, logs and outputs')
    .addOption(
      new Option('--rekey <mode>', "the key server's session rekey mode for the per-minute programme")
        .choices(['flat', 'lkh', 'batch'])
        .default('lkh'),
    )
    .addOption(
      new Option('--profile <name>', 'SRTP profile of both programmes (docs/srtp-suites.md)')
        .choices(SRTP_PROFILE_NAMES)
        .default(DEFAULT_PROFILE),
    )
    .action(async (o: DemoCliOptions) => {
      const summary = await runDemo({
        input: o.input,
        speed: o.speed,
        json: Boolean(o.json),
        keep: Boolean(o.keep),
        cryptoPeriodMs: o.cryptoPeriod,
        segmentLengthMs: o.segmentLength,
        keyChange: o.keyChange,
        rekey: o.rekey,
        profile: o.profile,
        status: (line) => process.stderr.write(`${line}\n`),
      });
      if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else printSummary(summary);
      process.exitCode = summary.ok ? 0 : 1;
    });
}

interface SendOptions {
  credentials: string;
  programme: number;
  input: string;
  speed: number;
  fast?: boolean;
  lead: number;
  carousel: number;
  ssrc?: number;
  initialSeq?: number;
  interface: string;
  ttl: number;
  rtcp: boolean;
  progress?: boolean;
  serverUrl?: string;
}

interface ReceiveOptions {
  credentials?: string;
  programme?: number;
  output?: string;
  forward: string[];
  interface: string;
  statsFile?: string;
  hold: number;
  rtcp: boolean;
  segmentKeyDelivery: 'multicast' | 'unicast';
  progress?: boolean;
  serverUrl?: string;
  serviceKey: string[];
  session?: boolean;
  keepListeningAfterRemoval?: boolean;
  leaveAfter?: number;
  joinWhen?: string;
}

interface DemoCliOptions {
  input: string;
  speed: number;
  cryptoPeriod: number;
  segmentLength: number;
  json?: boolean;
  keep?: boolean;
  rekey: 'flat' | 'lkh' | 'batch';
  keyChange: 'mki' | 'phase';
  profile: string;
}

/** A duration option (300s, 5m, 1500ms) whose default --help shows as a duration too. */
function duration(flags: string, description: string, defaultMs: number): Option {
  const shown = defaultMs % 1000 === 0 ? `${defaultMs / 1000}s` : `${defaultMs}ms`;
  return new Option(flags, description).argParser(durationMs).default(defaultMs, shown);
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

function printSummary(s: DemoSummary): void {
  const out: string[] = [];
  out.push('', `input  ${s.input.path}  ${s.input.bytes} bytes  sha256 ${s.input.sha256}`);
  out.push(
    `sender ${s.sender.packetsSent} SRTP packets (${s.profile}) from sequence number ${s.sender.initialSeq} (wraps after ${s.sender.wrapAfterPackets}), ${s.sender.segments} segments, ${s.keysRotated} key rotations`,
    '',
  );
  out.push(
    'receiver          entitled     segments  decrypted  rejected  key req  first index  output (vs its entitled part of the input)',
  );
  for (const r of s.receivers) {
    const segs = r.segmentsEntitled.length > 0 ? r.segmentsEntitled.join(',') : '-';
    const output =
      r.outputBytes === 0
        ? '(nothing)'
        : r.removedBy === 'keepalive' && !r.identical
          ? `${r.outputBytes} bytes, not a contiguous part (its socket dropped packets while it was suspended)`
          : `${r.outputBytes} bytes, ${r.identical ? 'identical' : 'DIFFERENT'}`;
    out.push(
      `${r.name.padEnd(17)} ${r.entitlement.padEnd(12)} ${segs.padEnd(8)} ${String(r.packetsDecrypted).padStart(10)} ${String(r.packetsRejected).padStart(9)} ${String(r.keyRequests).padStart(8)}  ${String(r.firstDecryptedIndex ?? '-').padStart(11)}  ${output}`,
    );
  }
  out.push(
    '',
    `session programme ${s.session.programmeId} (per minute; rekey ${s.session.mode}, keep-alive ${s.session.keepAliveIntervalMs} ms, expiry ${s.session.memberExpiryMs} ms): ${s.session.packetsSent} packets, ${s.session.groupRekeys} group rekeys`,
    'session member    removed by  removed (ms after start)  epoch  acks  keep-alives  decrypted after removal  billed s',
  );
  const t0 = s.session.senderStartedAtMs;
  for (const r of s.receivers.filter((x) => x.entitlement === 'session')) {
    out.push(
      `${r.name.padEnd(17)} ${String(r.removedBy ?? '-').padEnd(11)} ${String(r.leftAt === null ? '-' : `+${r.leftAt - t0}`).padStart(24)}  ${String(r.groupEpoch ?? '-').padStart(5)} ${String(r.acks ?? '-').padStart(5)} ${String(r.keepAlives ?? '-').padStart(12)} ${String(r.packetsDecryptedAfterRemoval ?? '-').padStart(24)} ${String(r.billedSeconds ?? '-').padStart(9)}`,
    );
  }
  out.push(
    '',
    `request log: ${s.log.records} records, hash chain ${s.log.chainIntact ? 'intact' : 'BROKEN'}`,
    '',
  );
  out.push('billing');
  for (const l of s.billing.lines) {
    out.push(
      `  client ${String(l.client).padEnd(3)} ${l.item.padEnd(40)} ${String(l.quantity).padStart(4)} × ${money(l.unitPrice, s.billing.currency).padStart(10)} = ${money(l.amount, s.billing.currency).padStart(10)}`,
    );
  }
  for (const t of s.billing.totals)
    out.push(`  client ${t.client} total ${money(t.amount, s.billing.currency)}`);
  out.push('', 'checks');
  for (const c of s.checks) out.push(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}`);
  out.push('', s.ok ? 'demo: all checks passed' : 'demo: SOME CHECKS FAILED');
  process.stdout.write(`${out.join('\n')}\n`);
}
