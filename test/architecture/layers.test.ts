// STYLE.md: the layers of src/ point one way. A module imports only its own layer and the layers before it;
// only src/crypto/ imports node:crypto.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const LAYERS = [
  'packet',
  'crypto',
  'net',
  'srtp',
  'keys',
  'store',
  'billing',
  'server',
  'sender',
  'receiver',
  'cli',
  'web',
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function layerOf(path: string): string | undefined {
  const top = relative(SRC, path).split(/[\\/]/)[0]!;
  return LAYERS.includes(top) ? top : undefined; // src/ids.ts belongs to no layer: everyone may use it
}

describe('layering', () => {
  const sources = files(SRC);

  it('finds the sources', () => {
    expect(sources.length).toBeGreaterThan(40);
  });

  it('imports only point down the list of layers', () => {
    const violations: string[] = [];
    for (const file of sources) {
      const from = layerOf(file);
      if (from === undefined) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
        const to = layerOf(resolve(dirname(file), m[1]!));
        if (to !== undefined && LAYERS.indexOf(to) > LAYERS.indexOf(from)) {
          violations.push(`${relative(SRC, file)} (${from}) imports ${m[1]} (${to})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('only src/crypto/ imports node:crypto', () => {
    const offenders = sources.filter(
      (f) => layerOf(f) !== 'crypto' && /from\s+'(node:)?crypto'/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
