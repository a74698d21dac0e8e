import { Command } from 'commander';

const program = new Command('keycast').description('Keys for paid live multicast: key server, SRTP sender, receivers, billing');
await program.parseAsync(process.argv);
