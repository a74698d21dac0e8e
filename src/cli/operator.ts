// The operator's commands, registered on the keycast program by src/cli/main.ts. Every command prints its result as
// one JSON line (or the invoice / export document) on stdout; errors go to stderr with exit status 1.
//
//   keycast init | client enrol | service create | programme create | grant subscription | grant segments
//   keycast serve | request-key | bill | keys export | log verify
import type { Command } from 'commander';
import { registerAdminCommands } from './operator-admin.js';
import { registerReportCommands } from './operator-report.js';
import { registerServeCommands } from './operator-serve.js';

export function registerOperatorCommands(program: Command): void {
  registerAdminCommands(program);
  registerServeCommands(program);
  registerReportCommands(program);
}
