#!/usr/bin/env node
// The keycast command. The TypeScript sources are compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write(
    'keycast: dist/ is missing; run `npm install` (or `npm run build`) in the keycast directory first\n',
  );
  process.exit(1);
}
await import(main);
