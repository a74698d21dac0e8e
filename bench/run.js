// Benchmarks (issue 4 point 8). Runs against the compiled library in dist/ (`npm run bench` builds it first).
//
//   npm run bench -- rekey [--json] [--sizes 1000,10000] [--modes flat,lkh]
//
// See docs/bench.md for what each row measures. A benchmark, not a test: nothing here asserts on time.
import { performance } from 'node:perf_hooks';
import { generateSigningKeyPair } from '../dist/crypto/sign.js';
import { randomBytes } from '../dist/crypto/random.js';
import { createGroupKeys, GROUP_REKEY_MAX_DATAGRAM_BYTES, signGroupRekey } from '../dist/keys/group/index.js';
import {
  chunkGroupRekeyEntries,
  GROUP_REKEY_OVERHEAD_BYTES,
  groupRekeyEntrySize,
} from '../dist/packet/group-rekey.js';

const PROGRAMME = 1;
const BATCH_LEAVES = 10_000;
/** lkh without batching: this many leaves, one rekey each, summed (10,000 would take minutes at 1M, mostly signing). */
const ONE_BY_ONE_LEAVES = 1_000;

function parseArgs(argv) {
  const args = {
    bench: argv[0],
    json: false,
    sizes: [1_000, 10_000, 100_000, 1_000_000],
    modes: ['flat', 'lkh', 'batch'],
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--sizes') args.sizes = argv[++i].split(',').map(Number);
    else if (a === '--modes') args.modes = argv[++i].split(',');
    else throw new Error(`bench: unknown argument ${a}`);
  }
  return args;
}

function gc() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/** Member keys for ids 1..n: views into one random buffer (the group copies each key it keeps). */
function memberList(n) {
  const pool = randomBytes(32 * n);
  const list = new Array(n);
  for (let i = 0; i < n; i++) list[i] = [i + 1, pool.subarray(32 * i, 32 * i + 32)];
  return list;
}

/** Distinct ids in 1..n, chosen with a fixed-seed generator so every mode removes the same members. */
function pickIds(n, k, seed, exclude) {
  let x = seed >>> 0 || 1;
  const out = new Set();
  while (out.size < k) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const id = 1 + (x % n);
    if (!exclude.has(id)) out.add(id);
  }
  return [...out];
}

let seq = 0;
/** Above this many messages a rekey is not signed (signing is ~1 ms a message here): its size comes from the codec. */
const MAX_SIGNED_MESSAGES = 2_000;

/**
 * ms: computing the rekey (new keys and wraps: the key server's key work). bytes: total length of the signed
 * group_rekey datagrams. signMs: signing them all (null when not signed; the byte count is then computed with the
 * same chunking and sizes, which equal the signed lengths).
 */
function measure(signer, fn) {
  const t0 = performance.now();
  const rekey = fn();
  const ms = performance.now() - t0;
  const chunks = chunkGroupRekeyEntries(rekey.wraps, GROUP_REKEY_MAX_DATAGRAM_BYTES);
  let bytes = 0;
  let signMs = null;
  if (chunks.length <= MAX_SIGNED_MESSAGES) {
    const t1 = performance.now();
    const messages = signGroupRekey(
      rekey,
      { issuedAtMs: Date.now(), nextMessageSeq: () => seq++ },
      signer.privateKey,
    );
    signMs = performance.now() - t1;
    for (const m of messages) bytes += m.length;
  } else {
    for (const c of chunks) {
      bytes += GROUP_REKEY_OVERHEAD_BYTES;
      for (const e of c) bytes += groupRekeyEntrySize(e);
    }
  }
  return { bytes, ms, signMs, wraps: rekey.wraps.length, messages: chunks.length };
}

function rekeyBench(args) {
  const signer = generateSigningKeyPair();
  const rows = [];
  const progress = (r) => {
    rows.push(r);
    printRow(r, args.json ? console.error : console.log);
  };
  printHeader(args.json ? console.error : console.log);
  for (const n of args.sizes) {
    const list = memberList(n);
    for (const mode of args.modes) {
      gc();
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const g = createGroupKeys(mode, PROGRAMME, list);
      const buildMs = performance.now() - t0;
      gc();
      const rssBytes = process.memoryUsage().rss;
      progress({
        mode,
        members: n,
        op: 'build',
        bytes: null,
        ms: buildMs,
        rssBytes,
        rssGrowthBytes: rssBytes - rss0,
      });
      const removedOnce = new Set();
      const flushIfBatch = (r) => (mode === 'batch' ? g.flush() : r);

      const [leaver] = pickIds(n, 1, 12345, removedOnce);
      removedOnce.add(leaver);
      progress({ mode, members: n, op: 'leave', ...measure(signer, () => flushIfBatch(g.remove([leaver]))) });

      const joinKey = randomBytes(32);
      progress({
        mode,
        members: n - 1,
        op: 'join',
        ...measure(signer, () => flushIfBatch(g.join(n + 1, joinKey))),
      });

      const k = Math.min(BATCH_LEAVES, Math.floor(n / 4)); // below 40,000 members: a quarter of them
      const ids = pickIds(n, k, 777, removedOnce);
      const op = `leave x${k} folded`;
      progress({
        mode,
        members: g.size,
        op,
        ...measure(signer, () => {
          if (mode !== 'batch') return g.remove(ids);
          for (const id of ids) g.remove([id]);
          return g.flush();
        }),
      });
      if (mode === 'lkh') {
        // The same number of leaves, one rekey each (what lkh without batching sends), summed.
        const more = pickIds(n, Math.min(ONE_BY_ONE_LEAVES, k), 999, new Set([...removedOnce, ...ids]));
        const total = { bytes: 0, ms: 0, signMs: 0, wraps: 0, messages: 0 };
        const members = g.size;
        for (const id of more) {
          const r = measure(signer, () => g.remove([id]));
          for (const f of Object.keys(total))
            total[f] = total[f] === null || r[f] === null ? null : total[f] + r[f];
        }
        progress({ mode, members, op: `leave x${more.length} one by one`, ...total });
      }
    }
  }
  if (args.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  printGoals(rows, args.json ? console.error : console.log);
}

const COLS = [
  ['mode', 6],
  ['members', 9],
  ['op', 22],
  ['bytes', 12],
  ['ms', 11],
  ['wraps', 9],
  ['msgs', 7],
  ['sign ms', 10],
];

function printHeader(out) {
  out(COLS.map(([h, w]) => h.padStart(w)).join(' '));
}

function printRow(r, out) {
  const fmt = (v, d = 0) => (v === null || v === undefined ? '-' : typeof v === 'number' ? v.toFixed(d) : v);
  const rss = r.rssBytes === undefined ? '' : `   rss ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB`;
  const cells = [
    r.mode,
    fmt(r.members),
    r.op,
    fmt(r.bytes),
    fmt(r.ms, 3),
    fmt(r.wraps),
    fmt(r.messages),
    fmt(r.signMs, 3),
  ];
  out(cells.map((c, i) => String(c).padStart(COLS[i][1])).join(' ') + rss);
}

function printGoals(rows, out) {
  const find = (mode, n, op) => rows.find((r) => r.mode === mode && r.members === n && r.op.startsWith(op));
  const lines = [];
  const leave = find('lkh', 1_000_000, 'leave');
  if (leave)
    lines.push(`lkh leave at 1M: ${leave.bytes} B (goal <= 1200), ${leave.ms.toFixed(3)} ms (goal <= 0.1)`);
  const batch = find('batch', 1_000_000, 'leave x10000');
  if (batch) lines.push(`10,000 batched leaves at 1M: ${batch.ms.toFixed(1)} ms (goal <= 200)`);
  const build = find('lkh', 1_000_000, 'build');
  if (build) lines.push(`lkh, 1M members: rss ${(build.rssBytes / 2 ** 20).toFixed(0)} MiB (goal <= 2048)`);
  if (lines.length > 0) out(['', 'goals:', ...lines.map((l) => `  ${l}`)].join('\n'));
}

const args = parseArgs(process.argv.slice(2));
if (args.bench !== 'rekey') {
  console.error('usage: npm run bench -- rekey [--json] [--sizes 1000,10000] [--modes flat,lkh,batch]');
  process.exit(2);
}
rekeyBench(args);
