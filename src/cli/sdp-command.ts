// `keycast sdp`: an SDP (RTP/SAVP, a=crypto per RFC 4568, a=ssrc, MP2T) for a programme's content keys, so
// standard SRTP receivers (ffmpeg, GStreamer's sdpdemux, keycast receive --sdp) can decrypt it without a key
// server. The keys come from a `keycast keys export` file or straight from the data directory.
import { isIPv4 } from 'node:net';
import { parseSecretJson } from '../keys/secret-json.js';
import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { asProgrammeId } from '../ids.js';
import { encodeMpegTsSrtpSdp, type SdpCryptoKey } from '../packet/sdp.js';
import type { MkiLengthBytes } from '../packet/srtp-trailer.js';
import { exportContentKeys, loadServerSecrets, openDataDirStore, type KeysExport } from '../store/index.js';
import { action, checkOutputFile, DEFAULT_DATA_DIR, intOption, printJson } from './operator-util.js';

interface SdpOptions {
  programme: number;
  keys?: string;
  data: string;
  keyId: number[];
  address?: string;
  port?: number;
  ttl: number;
  lifetime?: number;
  ffmpegCompat: boolean;
  out?: string;
}

export function registerSdpCommand(program: Command): void {
  program
    .command('sdp')
    .description(
      "an SDP with a=crypto for a programme's content keys, for ffmpeg / GStreamer (docs/interop.md)",
    )
    .requiredOption('--programme <id>', 'programme id', intOption('--programme', 1))
    .option(
      '--keys <file>',
      'a `keycast keys export` file (default: read the keys from --data, a logged export)',
    )
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .addOption(
      new Option('--key-id <n>', 'only this content key; repeatable (default: every key of the programme)')
        .argParser((v: string, prev: number[]) => [...prev, intOption('--key-id', 1)(v)])
        .default([], 'all'),
    )
    .option('--address <ip>', 'the c= address (default: the programme group)')
    .option('--port <port>', 'the media port (default: the programme port)', intOption('--port', 1, 65535))
    .option('--ttl <n>', 'multicast TTL written on the c= line', intOption('--ttl', 0, 255), 0)
    .option('--lifetime <packets>', 'a=crypto key lifetime in packets', lifetimeOption)
    .option('--no-ffmpeg-compat', 'leave out the disabled first media section ffmpeg needs (docs/interop.md)')
    .option('--out <file>', 'write here (mode 0600: it holds keys) instead of stdout')
    .action(
      action(async (o: SdpOptions) => {
        if (o.out !== undefined) await checkOutputFile(o.out, { overwrite: true });
        const { ex, group, port } = await keysAndPlace(o);
        const text = sdpOfExport(ex, o, group, port);
        if (o.out === undefined) process.stdout.write(text);
        else {
          await writeFile(o.out, text, { mode: 0o600 });
          printJson({ event: 'sdp_written', programmeId: ex.programmeId, out: o.out });
        }
      }),
    );
}

/** The keys (from the file, or a logged export from the data directory) and, from the store, where it is sent. */
async function keysAndPlace(o: SdpOptions): Promise<{ ex: KeysExport; group?: string; port?: number }> {
  if (o.keys !== undefined) {
    const parsed = parseSecretJson(await readFile(o.keys, 'utf8'));
    if (!parsed.ok) throw new Error(`${o.keys}: keys export is ${parsed.message}`);
    const ex = parsed.json as KeysExport;
    if (ex.version !== 1 || !Array.isArray(ex.keys))
      throw new Error(`${o.keys} is not a keys export (version 1)`);
    if (ex.programmeId !== o.programme)
      throw new Error(`${o.keys} holds programme ${ex.programmeId}, not ${o.programme}`);
    if (o.address === undefined || o.port === undefined)
      throw new Error(
        'with --keys, give --address and --port (a keys export does not say where the programme is sent)',
      );
    return { ex };
  }
  const store = openDataDirStore(o.data);
  try {
    const p = await store.transact((tx) => tx.programmes.get(asProgrammeId(o.programme)));
    if (p === undefined) throw new Error(`programme ${o.programme} does not exist`);
    if (p.keyChange === 'phase')
      throw new Error(
        `programme ${o.programme} signals key changes in the RTP padding bit (key change 'phase'), which standard SRTP receivers cannot follow: create it with --key-change mki for them (docs/key-phase.md)`,
      );
    const ex = await exportContentKeys(store, loadServerSecrets(o.data), asProgrammeId(o.programme));
    return { ex, group: p.group, port: p.port };
  } finally {
    await store.close();
  }
}

export function sdpOfExport(ex: KeysExport, o: SdpOptions, group?: string, port?: number): string {
  const keys = o.keyId.length === 0 ? ex.keys : ex.keys.filter((k) => o.keyId.includes(k.keyId));
  for (const id of o.keyId)
    if (!ex.keys.some((k) => k.keyId === id))
      throw new Error(`programme ${ex.programmeId} has no content key ${id}`);
  if (keys.length === 0)
    throw new Error(`programme ${ex.programmeId} has no content keys yet (has its sender run?)`);
  const mkiLengthBytes = ex.mkiLengthBytes as MkiLengthBytes;
  if (mkiLengthBytes === 0 && keys.length > 1)
    throw new Error(
      `programme ${ex.programmeId} has no MKI, so a receiver can hold one key: choose it with --key-id (one of ${keys.map((k) => k.keyId).join(', ')})`,
    );
  const cryptoKeys: SdpCryptoKey[] = keys.map((k) => ({
    keySalt: Uint8Array.from(Buffer.from(k.masterKey + k.masterSalt, 'hex')),
    ...(o.lifetime !== undefined && { lifetimePackets: o.lifetime }),
    ...(mkiLengthBytes !== 0 && {
      mki: { value: Number.parseInt(k.mki, 16), lengthBytes: mkiLengthBytes },
    }),
  }));
  if (o.address !== undefined && !isIPv4(o.address))
    throw new Error(`--address ${o.address}: keycast and its peers here take IPv4 addresses only`);
  const address = o.address ?? group;
  const mediaPort = o.port ?? port;
  if (address === undefined || mediaPort === undefined)
    throw new Error('no address and port for the c= and m= lines');
  return encodeMpegTsSrtpSdp({
    sessionName: `keycast programme ${ex.programmeId}`,
    address,
    ttl: o.ttl,
    port: mediaPort,
    ssrcs: [...new Set(keys.map((k) => k.ssrc))],
    crypto: { tag: 1, suite: ex.profile, keys: cryptoKeys },
    ffmpegCompatible: o.ffmpegCompat,
  });
}

function lifetimeOption(v: string): number {
  const m = /^(?:2\^(\d{1,2})|(\d{1,15}))$/.exec(v);
  const n = m === null ? NaN : m[1] !== undefined ? 2 ** Number(m[1]) : Number(m[2]);
  if (!(n >= 1 && n <= 2 ** 48))
    throw new InvalidArgumentError('--lifetime must be N or 2^N packets, at most 2^48');
  return n;
}
