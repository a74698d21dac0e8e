// `npm run fuzz`: every target, 1,000,000 cases each, from a fixed seed. See docs/fuzzing.md.
//
//   npm run fuzz -- [--target NAME[,NAME]] [--cases N] [--seed S] [--json] [--list]
//
// Prints per target the cases, accepted/rejected, rejections by reason, cases/s and the seed; on a failure, the
// case number, the message and the counterexample in hex, and exits 1.
import { parseArgs } from 'node:util';
import { loadFuzzTargets } from './registry.js';
import { runTarget, type FuzzReport } from './runner.js';

export const DEFAULT_CASES = 1_000_000;
export const DEFAULT_SEED = 20_250_501;

function formatReport(r: FuzzReport): string {
  const lines = [
    `target ${r.target}: ${r.cases} cases, seed ${r.seed}, ${(r.elapsedMs / 1000).toFixed(1)} s, ` +
      `${Math.round(r.casesPerSecond)} cases/s`,
    `  accepted ${r.accepted}, rejected ${r.rejected}`,
  ];
  const reasons = Object.entries(r.reasons).sort((a, b) => b[1] - a[1]);
  for (const [reason, n] of reasons) lines.push(`    ${reason.padEnd(24)} ${n}`);
  if (r.failure !== undefined) {
    lines.push(
      `  FAILED at case ${r.failure.caseNumber} (${r.failure.kind}): ${r.failure.message}`,
      `  input (${r.failure.inputHex.length / 2} bytes): ${r.failure.inputHex}`,
      `  reproduce: npm run fuzz -- --target ${r.target} --seed ${r.seed} --cases ${r.failure.caseNumber + 1}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      cases: { type: 'string', default: String(DEFAULT_CASES) },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
    },
  });
  const targets = await loadFuzzTargets();
  if (values.list) {
    for (const t of targets) console.log(`${t.name.padEnd(14)} ${t.summary}`);
    return 0;
  }
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(cases) || cases < 0)
    throw new Error(`--cases must be an integer ≥ 0, got ${values.cases}`);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`--seed must be an integer in 0..4294967295, got ${values.seed}`);
  const wanted = (values.target ?? []).flatMap((t) => t.split(','));
  const known = new Set(targets.map((t) => t.name));
  const unknown = wanted.filter((w) => !known.has(w));
  if (unknown.length > 0)
    throw new Error(`unknown target ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  const chosen = wanted.length === 0 ? targets : targets.filter((t) => wanted.includes(t.name));

  const reports: FuzzReport[] = [];
  for (const t of chosen) {
    const r = runTarget(t, { cases, seed });
    reports.push(r);
    if (!values.json) console.log(formatReport(r));
  }
  if (values.json) console.log(JSON.stringify(reports, null, 2));
  const failed = reports.filter((r) => r.failure !== undefined);
  if (!values.json) {
    console.log(
      failed.length === 0
        ? `fuzz: ${reports.length} target(s), no failure`
        : `fuzz: FAILED: ${failed.map((r) => r.target).join(', ')}`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 2;
  },
);
