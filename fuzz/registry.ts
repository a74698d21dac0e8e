// The registry of fuzz targets: every module in fuzz/targets/ that exports `target`. Adding a target (SRTCP, say)
// is one new file there; `npm run fuzz` and test/fuzz/targets.test.ts pick it up by themselves.
import { readdirSync } from 'node:fs';
import type { FuzzTarget } from './target.js';

const TARGETS_DIR = new URL('./targets/', import.meta.url);
/** .ts under vitest, .js once compiled to dist-fuzz/. */
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export async function loadFuzzTargets(): Promise<FuzzTarget[]> {
  const files = readdirSync(TARGETS_DIR)
    .filter((f) => f.endsWith(EXTENSION) && !f.endsWith('.d.ts'))
    .sort();
  const targets: FuzzTarget[] = [];
  for (const file of files) {
    const mod = (await import(new URL(file, TARGETS_DIR).href)) as { target?: FuzzTarget };
    if (mod.target === undefined) throw new Error(`fuzz/targets/${file} exports no \`target\``);
    targets.push(mod.target);
  }
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new Error(`two fuzz targets are called ${t.name}`);
    names.add(t.name);
  }
  return targets;
}
