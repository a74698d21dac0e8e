// The keycast command line: thin commands over the library. The only place that sets the exit code.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerMediaCommands } from './media-commands.js';
import { registerOperatorCommands } from './operator.js';
import { registerPurchaseCommands } from './purchase-command.js';
import { registerSdpCommand } from './sdp-command.js';

const program = new Command('keycast')
  .description('Keys for paid live multicast: key server, SRTP sender, receivers, billing')
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError('(add --help for usage)');
// Output piped into a command that stops reading early (`keycast client list | head -1`): end quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

registerOperatorCommands(program);
registerPurchaseCommands(program);
registerMediaCommands(program);
registerSdpCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`keycast: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.KEYCAST_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
  process.exit(1);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
