// Reporting commands: bill (invoice from the log), keys export (content keys in clear for libsrtp/GStreamer),
// log verify (walk the hash chain).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { invoiceToCsv, invoiceToJson } from '../billing/format.js';
import { readRatePlanFile } from '../billing/rate-plan.js';
import { rateLog } from '../billing/rate.js';
import { asProgrammeId } from '../ids.js';
import {
  exportContentKeys,
  loadServerSecrets,
  openDataDirStore,
  verifyLog,
  type LogRecord,
  type Store,
} from '../store/index.js';
import { action, checkOutputFile, DEFAULT_DATA_DIR, intOption, printJson } from './operator-util.js';

export async function readWholeLog(store: Store): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const page = await store.transact((tx) => tx.log.range(out.length + 1, 1000));
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

export function registerReportCommands(program: Command): void {
  program
    .command('bill')
    .description(
      'rate the request log with a rate plan (docs/rate-plan.md); refuses a log whose chain is broken',
    )
    .requiredOption('--plan <file>', 'rate plan JSON')
    .option('--json', 'invoice as JSON (default)')
    .option('--csv', 'invoice as CSV')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { plan: string; json?: boolean; csv?: boolean; data: string }) => {
        if (o.json && o.csv) throw new Error('choose one of --json and --csv');
        const plan = await readRatePlanFile(o.plan);
        const store = openDataDirStore(o.data);
        try {
          const chain = await verifyLog(store);
          if (!chain.ok)
            throw new Error(`the request log is broken at record ${chain.seq}: ${chain.message}`);
          const invoice = rateLog(await readWholeLog(store), plan);
          process.stdout.write(o.csv ? invoiceToCsv(invoice) : invoiceToJson(invoice));
        } finally {
          await store.close();
        }
      }),
    );

  program
    .command('keys')
    .description('content keys')
    .command('export')
    .description("a programme's content keys in clear, for libsrtp / GStreamer srtpdec (docs/keys-export.md)")
    .requiredOption('--programme <id>', 'programme id', intOption('--programme', 1))
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(
      action(async (o: { programme: number; out?: string; data: string }) => {
        // The export is logged before the keys leave; refuse an output that cannot be written before that.
        if (o.out !== undefined) await checkOutputFile(o.out, { overwrite: true });
        const secrets = loadServerSecrets(o.data);
        const store = openDataDirStore(o.data);
        try {
          const ex = await exportContentKeys(store, secrets, asProgrammeId(o.programme));
          const text = `${JSON.stringify(ex, null, 2)}\n`;
          if (o.out === undefined) process.stdout.write(text);
          else {
            await writeFile(o.out, text, { mode: 0o600 });
            printJson({
              event: 'keys_exported',
              programmeId: ex.programmeId,
              keys: ex.keys.length,
              out: o.out,
            });
          }
        } finally {
          await store.close();
        }
      }),
    );

  program
    .command('log')
    .description('the request log')
    .command('verify')
    .description('walk the hash chain; exit status 1 and the first broken record if it does not verify')
    .option('--data <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option(
      '--checkpoint <seq:hash>',
      'a headSeq:headHash printed by an earlier verify and kept elsewhere: also fails if records up to it were cut off or replaced',
    )
    .action(
      action(async (o: { data: string; checkpoint?: string }) => {
        const checkpoint = o.checkpoint === undefined ? undefined : parseCheckpoint(o.checkpoint);
        const store = openDataDirStore(o.data);
        try {
          const v = await verifyLog(store, undefined, checkpoint);
          printJson(v);
          if (!v.ok) process.exitCode = 1;
        } finally {
          await store.close();
        }
      }),
    );
}

function parseCheckpoint(text: string): { seq: number; hash: string } {
  const m = /^([1-9][0-9]{0,15}):([0-9a-fA-F]{64})$/.exec(text);
  const seq = m === null ? NaN : Number(m[1]);
  if (m === null || !Number.isSafeInteger(seq))
    throw new Error(`--checkpoint must be SEQ:HASH (a record number and 64 hex digits), got ${text}`);
  return { seq, hash: m[2]!.toLowerCase() };
}
