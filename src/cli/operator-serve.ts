// `keycast serve` (the key server) and `keycast request-key` (a client's key request, for testing a set-up).
import { Option, type Command } from 'commander';
import { sha256Hex } from '../crypto/mac.js';
import { readCredentialsFile } from '../keys/credentials.js';
import { buildKeyServer, DEFAULT_HOST, DEFAULT_PORT } from '../server/app.js';
import { checkMulticastInterface } from '../net/multicast-out.js';
import { DEFAULT_SEGMENT_KEY_MULTICAST, MAX_WINDOW_MS } from '../server/segment-key-batch.js';
import { KeyServerClient } from '../server/client.js';
import { DEFAULT_KEEPALIVE_INTERVAL_MS } from '../server/sessions.js';
import { GROUP_REKEY_MODES } from '../server/wire.js';
import { createKeyServerLogger } from '../server/logger.js';
import { openDataDirStore } from '../store/index.js';
import { action, DEFAULT_DATA_DIR, intOption, printJson } from './operator-util.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly data: string;
  readonly collectWindowMs: number;
  readonly multicastInterface: string;
  readonly multicastTtl: number;
  readonly rekey: 'flat' | 'lkh' | 'batch';
  readonly batchIntervalMs: number;
  readonly keepaliveIntervalMs: number;
  readonly memberExpiryMs?: number;
  readonly ackTimeoutMs: number;
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description(
      'run the key server (prints {"event":"listening","url":...} on stdout when ready; logs on stderr)',
    )
    .option('--host <address>', 'address to listen on', DEFAULT_HOST)
    .option('--port <port>', 'TCP port (0: any free port)', intOption('--port', 0, 65535), DEFAULT_PORT)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option(
      '--collect-window-ms <ms>',
      'gather segment-key requests asking for multicast delivery this long, then multicast one message to them (0: unicast only)',
      intOption('--collect-window-ms', 0, MAX_WINDOW_MS),
      DEFAULT_SEGMENT_KEY_MULTICAST.windowMs,
    )
    .option(
      '--multicast-interface <address>',
      'interface for the key messages the key server multicasts (127.0.0.1 keeps them on this host)',
      DEFAULT_SEGMENT_KEY_MULTICAST.interfaceAddress,
    )
    .option(
      '--multicast-ttl <n>',
      'multicast TTL (0 keeps them on this host)',
      intOption('--multicast-ttl', 0, 255),
      DEFAULT_SEGMENT_KEY_MULTICAST.ttl,
    )
    .addOption(
      new Option(
        '--rekey <mode>',
        'session rekeying: flat (one wrap per member), lkh (key tree) or batch (lkh, folded per interval)',
      )
        .choices(GROUP_REKEY_MODES)
        .default('lkh'),
    )
    .option(
      '--batch-interval-ms <ms>',
      'batch mode: fold the joins and removals of this long into one rekey',
      intOption('--batch-interval-ms', 10, 600_000),
      1000,
    )
    .option(
      '--keepalive-interval-ms <ms>',
      'keep-alive interval announced to session members',
      intOption('--keepalive-interval-ms', 10, 3_600_000),
      DEFAULT_KEEPALIVE_INTERVAL_MS,
    )
    .option(
      '--member-expiry-ms <ms>',
      'remove a session member silent longer than this (default: 3 × the keep-alive interval)',
      intOption('--member-expiry-ms', 10, 3_600_000),
    )
    .option(
      '--ack-timeout-ms <ms>',
      'remove a session member that has not acked a delivered group key within this',
      intOption('--ack-timeout-ms', 10, 3_600_000),
      5000,
    )
    .action(
      action(async (o: ServeOptions) => {
        await checkMulticastInterface(o.multicastInterface); // a typo fails now, not at the first multicast
        const store = openDataDirStore(o.data);
        const logger = createKeyServerLogger({ level: o.logLevel });
        const segmentKeyMulticast = {
          windowMs: o.collectWindowMs,
          interfaceAddress: o.multicastInterface,
          ttl: o.multicastTtl,
        };
        const sessions = {
          rekey: o.rekey,
          batchIntervalMs: o.batchIntervalMs,
          keepAliveIntervalMs: o.keepaliveIntervalMs,
          ...(o.memberExpiryMs !== undefined && { memberExpiryMs: o.memberExpiryMs }),
          ackTimeoutMs: o.ackTimeoutMs,
        };
        let app;
        try {
          app = buildKeyServer({ store, dataDir: o.data, logger, segmentKeyMulticast, sessions }); // runs the SRTP self-test first
        } catch (err) {
          await store.close();
          throw err;
        }
        const url = await app.listen({ host: o.host, port: o.port });
        printJson({ event: 'listening', url });
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'stopping');
          void (async () => {
            try {
              await app.close();
              await store.close();
              printJson({ event: 'stopped', signal });
              process.exit(0);
            } catch (err) {
              process.stderr.write(`keycast: error while stopping: ${String(err)}\n`);
              process.exit(1);
            }
          })();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      }),
    );

  program
    .command('request-key')
    .description('ask the key server for a segment key as a client would; prints the outcome, never the key')
    .requiredOption('--credentials <file>', "the client's credentials file")
    .requiredOption('--programme <id>', 'programme id', intOption('--programme', 1))
    .requiredOption('--segment <n>', 'segment number', intOption('--segment'))
    .option('--request-id <id>', 'request id (default: a fresh UUID)')
    .option('--server-url <url>', "override the credentials' server URL")
    .action(
      action(
        async (o: {
          credentials: string;
          programme: number;
          segment: number;
          requestId?: string;
          serverUrl?: string;
        }) => {
          const creds = await readCredentialsFile(o.credentials);
          const client = new KeyServerClient(
            creds,
            o.serverUrl === undefined ? {} : { serverUrl: o.serverUrl },
          );
          const r = await client.requestSegmentKey(
            o.programme,
            o.segment,
            ...(o.requestId ? [o.requestId] : []),
          );
          if (!r.ok) {
            printJson(r);
            process.exitCode = 1;
            return;
          }
          printJson({
            ok: true,
            clientId: creds.clientId,
            requestId: r.requestId,
            programmeId: r.programmeId,
            segment: r.segment,
            epoch: r.epoch,
            keyLengthBytes: r.segmentKey.length,
            // Lets two clients compare that they hold the same segment key, without showing it.
            keyFingerprint: sha256Hex(r.segmentKey).slice(0, 16),
          });
          r.segmentKey.fill(0);
        },
      ),
    );
}
