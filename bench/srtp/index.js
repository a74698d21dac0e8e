// `npm run bench -- srtp`: SRTP protect, unprotect and the pair (protect then unprotect) for keycast, werift-rtp and
// Debian's libsrtp2 in the same run, then keycast's whole sender and receiver paths on loopback. See docs/bench.md.
//
//   npm run bench -- srtp [--json] [--sizes 200,1200] [--suites AES_CM_128_HMAC_SHA1_80,AEAD_AES_128_GCM]
//                         [--impls keycast,werift-rtp,libsrtp2] [--samples 5] [--sample-ms 200]
//                         [--path-packets 50000] [--no-paths]
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { keycast } from './keycast.js';
import { buildLibsrtpHarness, libsrtpRate } from './libsrtp.js';
import { measureRate, opRunners } from './measure.js';
import { PATH_PAYLOAD_BYTES, pathRates } from './paths.js';
import { GOALS, printGoals, printRow, printTableHeader } from './report.js';
import { werift } from './werift.js';

const OPS = ['protect', 'unprotect', 'pair'];

function parseArgs(argv) {
  const args = {
    json: false,
    sizes: [200, 1200],
    suites: ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'],
    impls: ['keycast', 'keycast-ts', 'werift-rtp', 'libsrtp2'],
    samples: 5,
    sampleMs: 200,
    pathPackets: 50_000,
    paths: true,
    jsonSpreads: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--sizes') args.sizes = argv[++i].split(',').map(Number);
    else if (a === '--suites') args.suites = argv[++i].split(',');
    else if (a === '--impls') args.impls = argv[++i].split(',');
    else if (a === '--samples') args.samples = Number(argv[++i]);
    else if (a === '--sample-ms') args.sampleMs = Number(argv[++i]);
    else if (a === '--path-packets') args.pathPackets = Number(argv[++i]);
    else if (a === '--no-paths') args.paths = false;
    else if (a === '--json-spreads')
      args.json = args.jsonSpreads = true; // internal: the keycast-ts child, rows with min and max
    else throw new Error(`bench srtp: unknown argument ${a}`);
  }
  return args;
}

/** The JS implementations measured in-process, and libsrtp2 through its harness (or the reason it is not). */
function implementations(args, out) {
  const list = [];
  if (args.impls.includes('keycast')) list.push(keycast);
  if (args.impls.includes('keycast-ts')) list.push(keycastTs(args));
  if (args.impls.includes('werift-rtp')) list.push(werift);
  if (args.impls.includes('libsrtp2')) {
    const h = buildLibsrtpHarness();
    if (h.binary === undefined) out(`libsrtp2: not measured: ${h.reason}`);
    else {
      out(`libsrtp2: Debian libsrtp2 ${h.version} through bench/libsrtp/srtp-bench.c (gcc -O2)`);
      list.push({
        name: 'libsrtp2',
        note: () => '',
        supports: () => true,
        rate: (suite, bytes, op, opts) => libsrtpRate(h.binary, suite, bytes, op, opts),
      });
    }
  }
  return list;
}

/**
 * keycast with KEYCAST_NATIVE=0 (its pure-TypeScript fallback), measured in a child process since the addon is
 * chosen at load. All its cells run in one child, on the first request.
 */
function keycastTs(args) {
  let rows;
  const rate = (suite, bytes, op) => {
    if (rows === undefined) {
      const forward = [
        '--json-spreads',
        '--impls',
        'keycast',
        '--no-paths',
        '--samples',
        String(args.samples),
      ];
      forward.push('--sample-ms', String(args.sampleMs), '--sizes', args.sizes.join(','));
      forward.push('--suites', args.suites.join(','));
      const run = fileURLToPath(new URL('../run.js', import.meta.url));
      const r = spawnSync(process.execPath, [run, 'srtp', ...forward], {
        encoding: 'utf8',
        env: { ...process.env, KEYCAST_NATIVE: '0' },
        maxBuffer: 1 << 24,
      });
      if (r.status !== 0) throw new Error(`keycast-ts child failed: ${r.stderr}`);
      rows = JSON.parse(r.stdout);
    }
    const row = rows.find((x) => x.suite === suite && x.payloadBytes === bytes && x.op === op);
    return row ?? { unsupported: 'not measured by the child' };
  };
  return {
    name: 'keycast-ts',
    note: () => 'keycast with KEYCAST_NATIVE=0 (pure TypeScript), in a child process',
    supports: (s) => keycast.supports(s),
    rate,
  };
}

/**
 * One goal's ratio from samples taken in turn (keycast, peer, keycast, peer, ...), so a change in the machine's load
 * during the run hits both sides alike; the table's cells, run one after the other, do not have that property.
 */
function goalRatio(impls, sessionsOf, goal, opts) {
  const byName = new Map(impls.map((i) => [i.name, i]));
  const sides = [byName.get('keycast'), byName.get(goal.peer)];
  if (sides.some((i) => i === undefined || i.supports(goal.suite) !== true)) return null;
  const one = { samples: 1, sampleMs: opts.sampleMs };
  const sample = (impl) => cellRate(impl, goal.suite, 1200, 'pair', one, sessionsOf(impl)).packetsPerSecond;
  if (sample(sides[1]) === undefined) return null; // unsupported by the peer
  const ratios = [];
  for (let s = 0; s < opts.samples; s++) ratios.push(sample(sides[0]) / sample(sides[1]));
  ratios.sort((a, b) => a - b);
  return { ratio: ratios[Math.floor(ratios.length / 2)], min: ratios[0], max: ratios[ratios.length - 1] };
}

function cellRate(impl, suite, payloadBytes, op, opts, sessions) {
  if (impl.rate) return impl.rate(suite, payloadBytes, op, opts);
  const key = `${suite}/${payloadBytes}`;
  if (!sessions.has(key)) sessions.set(key, opRunners(impl.open(suite, payloadBytes)));
  return measureRate(sessions.get(key)[op], opts);
}

export async function srtpBench(argv) {
  const args = parseArgs(argv);
  const started = performance.now();
  const out = args.json ? console.error : console.log;
  const rows = [];
  const spreads = []; // the rows with min and max, for --json-spreads
  const opts = { samples: args.samples, sampleMs: args.sampleMs };
  const impls = implementations(args, out);
  for (const impl of impls) if (impl.note()) out(`${impl.name}: ${impl.note()}`);
  out(`each cell: median of ${args.samples} samples of >= ${args.sampleMs} ms (min and max shown)\n`);
  printTableHeader(out);
  const sessionMaps = new Map();
  const sessionsOf = (impl) => {
    if (!sessionMaps.has(impl.name)) sessionMaps.set(impl.name, new Map());
    return sessionMaps.get(impl.name);
  };
  for (const impl of impls) {
    const sessions = sessionsOf(impl);
    for (const suite of args.suites) {
      const ok = impl.supports(suite);
      if (ok !== true) {
        out(`  ${impl.name} ${suite}: not measured: ${ok}`);
        continue;
      }
      for (const payloadBytes of args.sizes)
        for (const op of OPS) {
          const r = cellRate(impl, suite, payloadBytes, op, opts, sessions);
          if (r.unsupported) {
            out(`  ${impl.name} ${suite}: not measured: ${r.unsupported}`);
            break;
          }
          const row = {
            impl: impl.name,
            suite,
            payloadBytes,
            op,
            packetsPerSecond: Math.round(r.packetsPerSecond),
          };
          rows.push(row);
          spreads.push({ ...row, min: r.min, max: r.max });
          printRow(row, r, out);
        }
    }
  }
  if (args.paths && args.impls.includes('keycast')) {
    for (const suite of args.suites) {
      if (keycast.supports(suite) !== true) continue;
      const p = await pathRates(suite, args.pathPackets);
      for (const side of ['sender', 'receiver']) {
        const op = `${side} path (per core)`;
        const row = {
          impl: 'keycast',
          suite,
          payloadBytes: PATH_PAYLOAD_BYTES,
          op,
          packetsPerSecond: Math.round(p[side].packetsPerSecond),
        };
        rows.push(row);
        printRow(row, { note: `${p[side].packets} packets` }, out);
      }
    }
  }
  printGoals(
    GOALS.map((g) => goalRatio(impls, sessionsOf, g, opts)),
    out,
  );
  // The JSON is the array of rows; the goal ratios are in the table (on stderr with --json).
  if (args.json) process.stdout.write(JSON.stringify(args.jsonSpreads ? spreads : rows, null, 2) + '\n');
  out(`\nwhole run: ${((performance.now() - started) / 1000).toFixed(1)} s (without npm run build)`);
}
