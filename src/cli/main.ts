// The keycast command line: thin commands over the library. The only place that sets the exit code.
import { Command } from 'commander';
import { registerMediaCommands } from './media-commands.js';
import { registerOperatorCommands } from './operator.js';

const program = new Command('keycast')
  .description('Keys for paid live multicast: key server, SRTP sender, receivers, billing')
  .showHelpAfterError();
registerOperatorCommands(program);
registerMediaCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`keycast: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.KEYCAST_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
  process.exit(1);
}
