// Every error code the server or the client can produce is documented in docs/errors.md, and every code documented
// there exists. Also scans the server sources for quoted codes handed to deny(...) / KeyServerError(...), so a code
// used in the code cannot escape the registry.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERROR_CODES } from '../../src/server/client.js';
import { ERROR_CODES, ERROR_CODE_NAMES } from '../../src/server/errors.js';

const doc = readFileSync('docs/errors.md', 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('docs/errors.md', () => {
  it('documents every server error code with its HTTP status', () => {
    for (const code of ERROR_CODE_NAMES) {
      expect(documented, `docs/errors.md does not document ${code}`).toContain(code);
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`))!;
      expect(row, `status of ${code}`).toContain(`| ${ERROR_CODES[code].status} |`);
      expect(row, `retryable of ${code}`).toContain(ERROR_CODES[code].retryable ? '| yes |' : '| no |');
    }
  });

  it('documents every client-side code', () => {
    for (const code of Object.keys(CLIENT_ERROR_CODES)) expect(documented).toContain(code);
  });

  it('documents nothing that does not exist', () => {
    const known = new Set<string>([...ERROR_CODE_NAMES, ...Object.keys(CLIENT_ERROR_CODES)]);
    for (const code of documented)
      expect(known, `docs/errors.md documents unknown code ${code}`).toContain(code);
  });

  it('every code used in src/server is documented', () => {
    const used = new Set<string>();
    for (const file of sources('src/server')) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:deny|KeyServerError|refusal|send)\(\s*'([a-z_]+)'/g)) used.add(m[1]!);
      for (const m of text.matchAll(/: '([a-z_]+)',?\s*$/gm))
        if (file.endsWith('error-mapper.ts')) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(10);
    for (const code of used)
      expect(documented, `${code} is used in src/server but not documented`).toContain(code);
  });
});
