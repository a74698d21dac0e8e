// `keycast purchase subscription`: a client buys a subscription through the key server's API (claim 10). The answer
// is the period's service key wrapped under the client key (claim 11); `--out FILE` keeps it, as delivered, for
// `keycast receive --service-key FILE`.
import type { Command } from 'commander';
import { readCredentialsFile } from '../keys/credentials.js';
import { writeServiceKeyFile } from '../keys/service-key-file.js';
import { isPeriod, periodOf } from '../keys/service-key.js';
import { KeyServerClient, orThrow } from '../server/client.js';
import { action, checkOutputFile, intOption, printJson } from './operator-util.js';

interface PurchaseOptions {
  credentials: string;
  service: number;
  period?: string;
  out?: string;
  force?: boolean;
  serverUrl?: string;
}

export function registerPurchaseCommands(program: Command): void {
  const purchase = program.command('purchase').description('buy through the key server (client side)');
  purchase
    .command('subscription')
    .description("buy a service for a period (YYYY-MM); the answer is the period's service key")
    .requiredOption('--credentials <file>', "the buyer's credentials file")
    .requiredOption('--service <id>', 'service id', intOption('service', 1))
    .option('--period <YYYY-MM>', 'the current UTC month (default) or the next one')
    .option(
      '--out <file>',
      'keep the service key (wrapped under the client key) for `keycast receive --service-key`',
    )
    .option('--force', 'replace an existing --out file')
    .option('--server-url <url>', "override the credentials' key server URL")
    .action(
      action(async (o: PurchaseOptions) => {
        const period = o.period ?? periodOf(Date.now());
        if (!isPeriod(period)) throw new Error(`period must be YYYY-MM, got ${period}`);
        if (o.out !== undefined)
          await checkOutputFile(o.out, { overwrite: Boolean(o.force), refusal: 'use --force to replace it' });
        const credentials = await readCredentialsFile(o.credentials);
        const client = new KeyServerClient(
          credentials,
          o.serverUrl === undefined ? {} : { serverUrl: o.serverUrl },
        );
        const r = orThrow(await client.purchaseSubscription(o.service, period));
        r.serviceKey.fill(0);
        if (o.out !== undefined) {
          await writeServiceKeyFile(o.out, {
            version: 1,
            clientId: credentials.clientId,
            serviceId: r.serviceId,
            period: r.period,
            wrappedKey: r.wrappedKey,
          });
        }
        printJson({
          event: 'purchased',
          requestId: r.requestId,
          clientId: credentials.clientId,
          serviceId: r.serviceId,
          period: r.period,
          ...(o.out !== undefined && { serviceKeyFile: o.out }),
        });
      }),
    );
}
