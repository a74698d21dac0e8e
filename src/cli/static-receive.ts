// `keycast receive --sdp FILE` and `keycast receive --key ...`: decrypt any standard SRTP stream with keys given
// up front (no key server). Turns the options into a StaticReceiver and runs it until a signal or --idle-exit.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { asSsrc } from '../ids.js';
import { decodeSdp, isMulticastV4, type SdpCrypto, type SdpMedia } from '../packet/sdp.js';
import type { MkiLengthBytes } from '../packet/srtp-trailer.js';
import { isSrtpProfileName, runSrtpSelfTest, srtpProfile, type SrtpProfileName } from '../srtp/index.js';
import { fileSink, forwardSink, type MediaSink } from '../receiver/sinks.js';
import { StaticReceiver, type StaticKey, type StaticSource } from '../receiver/static-receiver.js';
import { cliLogger, untilSignal } from './output.js';
type Logger = ReturnType<typeof cliLogger>;
import { durationMs, intOption } from './operator-util.js';

export interface StaticReceiveOptions {
  sdp?: string;
  key: string[];
  mki: string[];
  profile?: string;
  roc?: number;
  ssrc?: number;
  listen?: string;
  group?: string;
  interface: string;
  output?: string;
  forward: string[];
  statsFile?: string;
  idleExit?: number;
  progress?: boolean;
}

/** The options of the static-key mode, added to `keycast receive`. */
export function addStaticReceiveOptions(cmd: Command): Command {
  return cmd
    .option('--sdp <file>', 'static keys: an SDP with a=crypto (RFC 4568); no key server')
    .addOption(
      new Option('--key <key>', 'static keys: master key ‖ salt, hex or base64; repeatable (one per MKI)')
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option('--mki <hex>', 'with --key: the MKI of each --key in order, hex bytes (e.g. 00000001)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--profile <name>', 'with --key: the SRTP protection profile', 'AES_CM_128_HMAC_SHA1_80')
    .option('--roc <n>', 'static keys: the rollover counter of the first packet', intOption('--roc', 0))
    .option('--ssrc <n>', 'static keys: decrypt only this SSRC', intOption('--ssrc', 0))
    .option('--listen <addr:port>', 'static keys: receive unicast on this address and port')
    .option('--group <group:port>', 'static keys: join this multicast group (on --interface)')
    .addOption(
      new Option(
        '--idle-exit <duration>',
        'static keys: stop once no packet has come for this long',
      ).argParser(durationMs),
    );
}

/** Whether the receive options ask for the static-key mode. */
export function wantsStaticKeys(o: Pick<StaticReceiveOptions, 'sdp' | 'key'>): boolean {
  return o.sdp !== undefined || o.key.length > 0;
}

export async function runStaticReceive(o: StaticReceiveOptions): Promise<void> {
  runSrtpSelfTest();
  const toStdout = o.output === '-';
  // With the media on stdout, the JSON event lines go to stderr.
  const emit = (event: string, fields: Record<string, unknown>) =>
    (toStdout ? process.stderr : process.stdout).write(`${JSON.stringify({ event, ...fields })}\n`);
  const log = cliLogger('keycast-receiver');
  const config = o.sdp !== undefined ? await fromSdp(o, log) : fromKeyOptions(o);
  const source = sourceOf(o, config.sdpSource);
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const sinks: MediaSink[] = [];
  if (toStdout) sinks.push(stdoutSink());
  else if (o.output !== undefined) sinks.push(fileSink(o.output, fail));
  for (const f of o.forward) sinks.push(forwardSink(f));
  if (sinks.length === 0) log.warn('no --output or --forward: decrypting and counting only');
  const receiver = new StaticReceiver({
    profile: config.profile,
    mkiLengthBytes: config.mkiLengthBytes,
    keys: config.keys,
    source,
    sinks,
    log,
    ...(o.roc !== undefined && { roc: o.roc }),
    ...(o.ssrc !== undefined && { ssrc: asSsrc(o.ssrc) }),
  });
  const stop = untilSignal();
  await receiver.open();
  emit('ready', {
    ...source,
    profile: config.profile,
    keys: config.keys.length,
    mkiLengthBytes: config.mkiLengthBytes,
  });
  const ticker = o.progress ? setInterval(() => emit('progress', { ...receiver.stats }), 500) : undefined;
  const idle = new Promise<'idle'>((resolve) => {
    const limit = o.idleExit;
    if (limit === undefined) return;
    const t = setInterval(
      () => {
        const last = receiver.lastPacketAtMs;
        if (last > 0 && performance.now() - last >= limit) {
          clearInterval(t);
          resolve('idle');
        }
      },
      Math.min(100, limit),
    );
    t.unref();
  });
  const ended = await Promise.race([stop.promise, failed, idle]);
  clearInterval(ticker);
  await receiver
    .close()
    .catch((err: unknown) => log.error({ err: String(err) }, 'closing the outputs failed'));
  if (o.statsFile !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(o.statsFile, JSON.stringify(receiver.stats, null, 2));
  }
  emit('done', { ...receiver.stats });
  log.info(receiver.stats, 'receiver stopped');
  if (ended instanceof Error) throw new Error(`output failed: ${ended.message}`);
  const st = receiver.stats;
  if (st.packetsReceived > 0 && st.packetsDecrypted === 0) {
    const reasons = Object.entries(st.rejectedByReason)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    throw new Error(
      `received ${st.packetsReceived} packets and decrypted none (${reasons}): check the key, the suite and the MKI`,
    );
  }
}

interface StaticConfig {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly keys: readonly StaticKey[];
  readonly sdpSource?: StaticSource;
}

async function fromSdp(o: StaticReceiveOptions, log: Logger): Promise<StaticConfig> {
  const file = o.sdp!;
  if (o.key.length > 0 || o.mki.length > 0)
    throw new Error('--sdp carries the keys: leave out --key and --mki');
  const parsed = decodeSdp(await readFile(file, 'utf8'));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.reason}`);
  const media = parsed.value.media.find((m) => m.port !== 0 && m.cryptos.length > 0);
  if (media === undefined)
    throw new Error(`${file}: no enabled media section (port ≠ 0) with an a=crypto line`);
  if (!/^RTP\/SAVPF?$/.test(media.proto))
    throw new Error(`${file}: media section is ${media.proto}, expected RTP/SAVP`);
  // Several a=crypto lines are alternatives (RFC 4568 §5.1), each with all the keys: take the lowest tag whose
  // suite this keycast implements, and say which.
  const tags = media.cryptos.map((c) => c.tag);
  if (new Set(tags).size !== tags.length) throw new Error(`${file}: two a=crypto lines have the same tag`);
  const sorted = [...media.cryptos].sort((a, b) => a.tag - b.tag);
  const crypto = sorted.find((c) => isSrtpProfileName(c.suite)) ?? sorted[0]!;
  if (media.cryptos.length > 1)
    log.info(
      { tag: crypto.tag, suite: crypto.suite, lines: media.cryptos.length },
      'using the a=crypto line of this tag',
    );
  return { ...keysOfCrypto(file, crypto), ...sdpSourceOf(media, o.interface) };
}

function keysOfCrypto(file: string, c: SdpCrypto): Omit<StaticConfig, 'sdpSource'> {
  if (!isSrtpProfileName(c.suite))
    throw new Error(`${file}: crypto suite ${c.suite} is not implemented by this keycast`);
  const profile = srtpProfile(c.suite);
  const keys = c.keys.map((k, i) => {
    const need = profile.masterKeyBytes + profile.masterSaltBytes;
    if (k.keySalt.byteLength !== need)
      throw new Error(
        `${file}: key ${i + 1} is ${k.keySalt.byteLength} bytes; ${c.suite} needs ${need} (key ‖ salt)`,
      );
    return {
      masterKey: k.keySalt.subarray(0, profile.masterKeyBytes),
      masterSalt: k.keySalt.subarray(profile.masterKeyBytes),
      ...(k.mki !== undefined && { mki: k.mki.value }),
      ...(k.lifetimePackets !== undefined && { lifetimePackets: k.lifetimePackets }),
    };
  });
  return { profile: c.suite, mkiLengthBytes: c.keys[0]!.mki?.lengthBytes ?? 0, keys };
}

function sdpSourceOf(m: SdpMedia, interfaceAddress: string): { sdpSource?: StaticSource } {
  if (m.address === undefined) return {};
  return isMulticastV4(m.address)
    ? { sdpSource: { kind: 'multicast', group: m.address, port: m.port, interfaceAddress } }
    : { sdpSource: { kind: 'unicast', address: m.address, port: m.port } };
}

function fromKeyOptions(o: StaticReceiveOptions): StaticConfig {
  const name = o.profile ?? 'AES_CM_128_HMAC_SHA1_80';
  if (!isSrtpProfileName(name)) throw new Error(`--profile ${name} is not implemented by this keycast`);
  const profile = srtpProfile(name);
  if (o.mki.length > 0 && o.mki.length !== o.key.length)
    throw new Error(`--mki must be given once per --key (${o.key.length} keys, ${o.mki.length} MKIs)`);
  if (o.mki.length === 0 && o.key.length > 1)
    throw new Error('several --key need an --mki each: a stream without MKI has one key');
  const mkis = o.mki.map(parseMki);
  const lengths = new Set(mkis.map((m) => m.lengthBytes));
  if (lengths.size > 1) throw new Error('every --mki must have the same length');
  const keys = o.key.map((text, i) => {
    const bytes = parseKey(text, profile.masterKeyBytes + profile.masterSaltBytes, name, i + 1);
    return {
      masterKey: bytes.subarray(0, profile.masterKeyBytes),
      masterSalt: bytes.subarray(profile.masterKeyBytes),
      ...(mkis[i] !== undefined && { mki: mkis[i].value }),
    };
  });
  return { profile: name, mkiLengthBytes: mkis[0]?.lengthBytes ?? 0, keys };
}

/** Hex when it is hex of the right length, else base64 of the right length; the key itself is never echoed. */
export function parseKey(text: string, bytes: number, profile: string, n: number): Uint8Array {
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === 2 * bytes)
    return Uint8Array.from(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0) {
    const b = Buffer.from(text, 'base64');
    if (b.length === bytes) return Uint8Array.from(b);
  }
  throw new InvalidArgumentError(
    `--key ${n}: ${profile} needs ${bytes} bytes of key ‖ salt, as ${2 * bytes} hex digits or ${4 * Math.ceil(bytes / 3)} base64 characters`,
  );
}

export function parseMki(text: string): { value: number; lengthBytes: Exclude<MkiLengthBytes, 0> } {
  const hex = text.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2}){1,4}$/.test(hex))
    throw new InvalidArgumentError(`--mki ${text}: expected 1 to 4 bytes in hex (e.g. 00000001)`);
  return { value: Number.parseInt(hex, 16), lengthBytes: (hex.length / 2) as Exclude<MkiLengthBytes, 0> };
}

function sourceOf(o: StaticReceiveOptions, fromSdp: StaticSource | undefined): StaticSource {
  if (o.listen !== undefined && o.group !== undefined) throw new Error('give --listen or --group, not both');
  if (o.listen !== undefined) {
    const { host, port } = hostPort('--listen', o.listen);
    if (isMulticastV4(host)) throw new Error(`--listen ${o.listen}: a multicast group goes in --group`);
    return { kind: 'unicast', address: host, port };
  }
  if (o.group !== undefined) {
    const { host, port } = hostPort('--group', o.group);
    if (!isMulticastV4(host)) throw new Error(`--group ${o.group}: ${host} is not an IPv4 multicast group`);
    return { kind: 'multicast', group: host, port, interfaceAddress: o.interface };
  }
  if (fromSdp !== undefined) return fromSdp;
  throw new Error(
    'static keys need where to receive: --listen ADDR:PORT or --group GROUP:PORT (or a c= line in --sdp)',
  );
}

function hostPort(flag: string, text: string): { host: string; port: number } {
  const m = /^([0-9.]+):(\d{1,5})$/.exec(text);
  if (m === null || isIP(m[1]!) !== 4 || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new Error(`${flag} ${text}: expected IPV4ADDRESS:PORT, e.g. 127.0.0.1:5004`);
  return { host: m[1]!, port: Number(m[2]) };
}

function stdoutSink(): MediaSink {
  return {
    write: (_packet, payload) => void process.stdout.write(Buffer.from(payload)),
    close: () => new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
