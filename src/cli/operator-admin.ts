// Set-up commands: init, client enrol | list, service create | list, programme create | list, grant subscription,
// grant segments.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { asClientId, asProgrammeId, asSegmentIndex, asServiceId } from '../ids.js';
import { SRTP_PROFILE_NAMES } from '../crypto/srtp-profiles.js';
import { DEFAULT_PROFILE } from '../packet/profile-code.js';
import { CLIENT_ROLES, type ClientRole } from '../keys/client-key.js';
import { writeCredentialsFile } from '../keys/credentials.js';
import { DEFAULT_KEY_CHANGE, KEY_CHANGE_MODES } from '../packet/key-phase.js';
import {
  createProgramme,
  createService,
  DEFAULT_CRYPTO_PERIOD_MS,
  DEFAULT_MKI_LENGTH_BYTES,
  DEFAULT_SEGMENT_LENGTH_MS,
  DEFAULT_SERVER_URL,
  enrolClient,
  grantSegments,
  grantSubscription,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  PROGRAMME_PRICINGS,
  type ProgrammePricing,
  type Store,
} from '../store/index.js';
import {
  action,
  checkOutputFile,
  DEFAULT_DATA_DIR,
  durationMs,
  durationText,
  intOption,
  printJson,
} from './operator-util.js';

async function withStore<T>(dir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openDataDirStore(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function registerAdminCommands(program: Command): void {
  program
    .command('init')
    .description(
      'create a data directory: database, server master key, Ed25519 signing key pair (files 0600)',
    )
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { data: string }) => {
        const { publicKey } = await initDataDir(o.data);
        printJson({
          event: 'initialised',
          dataDir: resolve(o.data),
          serverPublicKey: Buffer.from(publicKey).toString('base64'),
        });
      }),
    );

  const client = program.command('client').description('enrolled clients (receivers and senders)');
  client
    .command('enrol')
    .description(
      'enrol a client and write its credentials file (mode 0600); if the file cannot be written, nothing is enrolled',
    )
    .requiredOption('--name <name>', 'client name')
    .option('--role <role>', `${CLIENT_ROLES.join(' | ')}`, 'receiver')
    .requiredOption('--out <file>', 'credentials file to write (an existing file is refused without --force)')
    .option('--force', "replace an existing --out file (that client's credentials are lost)")
    .option('--server-url <url>', 'key server URL written into the credentials', DEFAULT_SERVER_URL)
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(
        async (o: {
          name: string;
          role: string;
          out: string;
          force?: boolean;
          serverUrl: string;
          data: string;
        }) => {
          if (!(CLIENT_ROLES as readonly string[]).includes(o.role)) {
            throw new Error(`--role must be one of ${CLIENT_ROLES.join(', ')}`);
          }
          const overwrite = o.force === true;
          await checkOutputFile(o.out, { overwrite, refusal: 'use --force to replace it' });
          const secrets = loadServerSecrets(o.data);
          // The file is written inside the enrolment's transaction: a failed write rolls the enrolment back.
          const { client: c } = await withStore(o.data, (store) =>
            enrolClient(store, secrets, {
              name: o.name,
              role: o.role as ClientRole,
              serverUrl: o.serverUrl,
              saveCredentials: (cred) => writeCredentialsFile(o.out, cred, { overwrite }),
            }),
          );
          printJson({
            event: 'enrolled',
            clientId: c.id,
            name: c.name,
            role: c.role,
            credentials: resolve(o.out),
          });
        },
      ),
    );
  client
    .command('list')
    .description('enrolled clients, one JSON line each (never their keys)')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { data: string }) => {
        const rows = await withStore(o.data, (store) => store.transact((tx) => tx.clients.list()));
        for (const c of rows) {
          printJson({ clientId: c.id, name: c.name, role: c.role, createdAtMs: c.createdAtMs });
        }
      }),
    );

  const service = program.command('service').description('services (channels or packages)');
  service
    .command('create')
    .description('create a service')
    .requiredOption('--name <name>', 'service name')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { name: string; data: string }) => {
        const s = await withStore(o.data, (store) => createService(store, { name: o.name }));
        printJson({ event: 'service_created', serviceId: s.id, name: s.name });
      }),
    );
  service
    .command('list')
    .description('services, one JSON line each')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { data: string }) => {
        const rows = await withStore(o.data, (store) => store.transact((tx) => tx.services.list()));
        for (const s of rows) printJson({ serviceId: s.id, name: s.name, createdAtMs: s.createdAtMs });
      }),
    );

  const programme = program.command('programme').description('programmes (one multicast stream each)');
  programme
    .command('create')
    .description("create a programme; its group and ports must not overlap another programme's")
    .requiredOption('--service <id>', 'service id', intOption('--service', 1))
    .requiredOption('--name <name>', 'programme name')
    .requiredOption('--group <address>', 'multicast group, e.g. 239.255.0.1')
    .requiredOption('--port <port>', 'media UDP port', intOption('--port', 1, 65535))
    .option(
      '--key-port <port>',
      'key-message UDP port (default: port + 2)',
      intOption('--key-port', 1, 65535),
    )
    .addOption(
      new Option('--segment-length <duration>', 'programme segment length')
        .argParser(durationMs)
        .default(DEFAULT_SEGMENT_LENGTH_MS, durationText(DEFAULT_SEGMENT_LENGTH_MS)),
    )
    .addOption(
      new Option('--crypto-period <duration>', 'content key lifetime')
        .argParser(durationMs)
        .default(DEFAULT_CRYPTO_PERIOD_MS, durationText(DEFAULT_CRYPTO_PERIOD_MS)),
    )
    .option(
      '--mki-length <bytes>',
      `SRTP MKI length, 0..4 (default: ${DEFAULT_MKI_LENGTH_BYTES} with --key-change mki, 0 with phase)`,
      intOption('--mki-length', 0, 4),
    )
    .addOption(
      new Option(
        '--key-change <mode>',
        'how packets signal a key change: the SRTP MKI, or the RTP padding bit as a key phase (docs/key-phase.md)',
      )
        .choices(KEY_CHANGE_MODES)
        .default(DEFAULT_KEY_CHANGE),
    )
    .option(
      '--profile <name>',
      `SRTP profile: ${SRTP_PROFILE_NAMES.join(' | ')} (docs/srtp-suites.md)`,
      DEFAULT_PROFILE,
    )
    .option(
      '--single-key',
      'one content key for the whole programme and no MKI, for receivers such as ffmpeg that take one key (docs/interop.md): MKI length 0, crypto period = segment length = 24h unless given',
    )
    .option('--pricing <kind>', `${PROGRAMME_PRICINGS.join(' | ')}`, 'both')
    .option(
      '--allow-shared-group',
      'allow a group and port that another programme uses (e.g. replacing one that is off the air)',
    )
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(
        async (
          o: {
            service: number;
            name: string;
            group: string;
            port: number;
            keyPort?: number;
            segmentLength: number;
            cryptoPeriod: number;
            mkiLength?: number;
            keyChange: string;
            profile: string;
            pricing: string;
            allowSharedGroup?: boolean;
            singleKey?: boolean;
            data: string;
          },
          cmd: Command,
        ) => {
          if (o.singleKey === true && o.keyChange === 'phase')
            throw new Error(
              '--single-key is for standard receivers such as ffmpeg, which cannot read a padding-bit key phase: leave out --key-change phase',
            );
          if (o.singleKey === true)
            Object.assign(
              o,
              singleKeyTiming(o, (name) => cmd.getOptionValueSource(name)),
            );
          const p = await withStore(o.data, (store) =>
            createProgramme(store, {
              serviceId: asServiceId(o.service),
              name: o.name,
              group: o.group,
              port: o.port,
              ...(o.keyPort === undefined ? {} : { keyPort: o.keyPort }),
              segmentLengthMs: o.segmentLength,
              cryptoPeriodMs: o.cryptoPeriod,
              ...(o.mkiLength === undefined ? {} : { mkiLengthBytes: o.mkiLength }),
              keyChange: o.keyChange,
              profile: o.profile,
              pricing: o.pricing as ProgrammePricing,
              allowSharedGroup: o.allowSharedGroup === true,
            }),
          );
          const { createdAtMs: _created, ...fields } = p;
          printJson({ event: 'programme_created', programmeId: p.id, ...fields });
        },
      ),
    );
  programme
    .command('list')
    .description('programmes, one JSON line each (the fields programme create prints)')
    .option('--service <id>', 'only the programmes of this service', intOption('--service', 1))
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { service?: number; data: string }) => {
        const rows = await withStore(o.data, (store) => store.transact((tx) => tx.programmes.list()));
        for (const { id, ...fields } of rows) {
          if (o.service === undefined || fields.serviceId === o.service) {
            printJson({ programmeId: id, ...fields });
          }
        }
      }),
    );

  const grant = program.command('grant').description('entitlements (each grant is logged)');
  grant
    .command('subscription')
    .description('subscribe a client to a service for one month')
    .requiredOption('--client <id>', 'client id', intOption('--client', 1))
    .requiredOption('--service <id>', 'service id', intOption('--service', 1))
    .requiredOption('--period <YYYY-MM>', 'subscription period (UTC calendar month)')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { client: number; service: number; period: string; data: string }) => {
        const e = await withStore(o.data, (store) =>
          grantSubscription(store, {
            clientId: asClientId(o.client),
            serviceId: asServiceId(o.service),
            period: o.period,
          }),
        );
        printJson({ event: 'granted', ...e });
      }),
    );
  grant
    .command('segments')
    .description("grant a client a programme's segments (all, or an inclusive range)")
    .requiredOption('--client <id>', 'client id', intOption('--client', 1))
    .requiredOption('--programme <id>', 'programme id', intOption('--programme', 1))
    .option('--from <n>', 'first segment', intOption('--from'))
    .option('--to <n>', 'last segment (inclusive)', intOption('--to'))
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { client: number; programme: number; from?: number; to?: number; data: string }) => {
        const e = await withStore(o.data, (store) =>
          grantSegments(store, {
            clientId: asClientId(o.client),
            programmeId: asProgrammeId(o.programme),
            fromSegment: o.from === undefined ? undefined : asSegmentIndex(o.from),
            toSegment: o.to === undefined ? undefined : asSegmentIndex(o.to),
          }),
        );
        printJson({ event: 'granted', ...e });
      }),
    );
}

/** A whole day under one key: long enough for a test or an event; a longer programme needs a longer period. */
const SINGLE_KEY_PERIOD_MS = 24 * 3_600_000;

/**
 * `programme create --single-key`: no MKI, and one crypto period as long as a segment (24h unless given), so the
 * sender uses one content key from start to end. Refuses options that contradict it rather than overriding them.
 */
export function singleKeyTiming(
  o: { mkiLength?: number; cryptoPeriod: number; segmentLength: number },
  sourceOf: (option: string) => string | undefined,
): { mkiLength: number; cryptoPeriod: number; segmentLength: number } {
  const given = (name: string) => sourceOf(name) === 'cli';
  if (given('mkiLength') && o.mkiLength !== undefined && o.mkiLength !== 0)
    throw new Error('--single-key means --mki-length 0');
  const periodMs = given('cryptoPeriod')
    ? o.cryptoPeriod
    : given('segmentLength')
      ? o.segmentLength
      : SINGLE_KEY_PERIOD_MS;
  if (
    (given('cryptoPeriod') || given('segmentLength')) &&
    (given('segmentLength') ? o.segmentLength : periodMs) !== periodMs
  )
    throw new Error('--single-key needs --crypto-period equal to --segment-length (one key per programme)');
  return { mkiLength: 0, cryptoPeriod: periodMs, segmentLength: periodMs };
}
