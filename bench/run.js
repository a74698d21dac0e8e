// Benchmarks (issue 4 point 8, issue 5 item 6). Runs against the compiled library in dist/ (`npm run bench` builds
// it first).
//
//   npm run bench -- srtp [--json] ...   (bench/srtp/index.js)
//   npm run bench -- rekey [--json] [--sizes 1000,10000] [--modes flat,lkh] [--mls-sizes 100,1000]
//                          [--hold-members 1000000] [--no-mls] [--no-hold]
//
// See docs/bench.md for what each row measures. A benchmark, not a test: nothing here asserts on time.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { TextEncoder } from 'node:util';
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
/** Below 4 × BATCH_LEAVES members the batch is a quarter of the group instead (named so in `op`). */
const BATCH_SHARE_BELOW = 4 * BATCH_LEAVES;
/** lkh without batching: this many leaves, one rekey each, summed (an extra row, lkh only). */
const ONE_BY_ONE_LEAVES = 1_000;
/** lkh and batch: one leave is one sample; this many more single leaves give a median (an extra row). */
const MEDIAN_LEAVES = 101;
/** Rekeys of at most this many datagrams are signed (Ed25519 ~50 µs each); larger ones are sized from the codec. */
const MAX_SIGNED_MESSAGES = 10_000;
const MIB = 2 ** 20;

function parseArgs(argv) {
  const args = {
    bench: argv[0],
    json: false,
    sizes: [1_000, 10_000, 100_000, 1_000_000],
    modes: ['flat', 'lkh', 'batch'],
    mlsSizes: [100, 1_000],
    holdMembers: 1_000_000,
    mls: true,
    hold: true,
    mode: undefined,
    members: undefined,
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--sizes') args.sizes = argv[++i].split(',').map(Number);
    else if (a === '--modes') args.modes = argv[++i].split(',');
    else if (a === '--mls-sizes') args.mlsSizes = argv[++i].split(',').map(Number);
    else if (a === '--hold-members') args.holdMembers = Number(argv[++i]);
    else if (a === '--no-mls') args.mls = false;
    else if (a === '--no-hold') args.hold = false;
    else if (a === '--mode')
      args.mode = argv[++i]; // internal: `hold` child
    else if (a === '--members')
      args.members = Number(argv[++i]); // internal: `hold` child
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

/** The same, generated lazily in small pools, so the caller never holds the whole list (the `hold` child). */
function* memberStream(n) {
  const per = 4096;
  let pool;
  for (let i = 0; i < n; i++) {
    if (i % per === 0) pool = randomBytes(32 * per);
    const j = i % per;
    yield [i + 1, pool.subarray(32 * j, 32 * j + 32)];
  }
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

/**
 * ms: computing the rekey (new keys and wraps: the key server's key work). bytes: total length of the signed
 * group_rekey datagrams. extra.signMs: signing them all (null when not signed; the byte count is then computed with
 * the same chunking and sizes, which equal the signed lengths).
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
  return { bytes, ms, extra: { wraps: rekey.wraps.length, messages: chunks.length, signMs } };
}

/** The three ops (and lkh's one-by-one extra row) on a fresh group of n members in `mode`. */
function keycastRows(signer, mode, n, list, emit) {
  gc();
  const t0 = performance.now();
  const g = createGroupKeys(mode, PROGRAMME, list);
  const buildMs = performance.now() - t0;
  emit(null, { mode, members: n, op: 'build', bytes: null, ms: buildMs });
  const removedOnce = new Set();
  const flushIfBatch = (r) => (mode === 'batch' ? g.flush() : r);

  const [leaver] = pickIds(n, 1, 12345, removedOnce);
  removedOnce.add(leaver);
  emit(buildMs, {
    mode,
    members: n,
    op: 'leave',
    ...measure(signer, () => flushIfBatch(g.remove([leaver]))),
  });

  if (mode !== 'flat') {
    // One leave is one sample of well under a millisecond, at the mercy of a GC pause or the machine's load: the
    // median of MEDIAN_LEAVES more single leaves (each its own rekey) is the figure the time goal is read from.
    // bytes, wraps and messages: the largest of them (a leave from the deepest leaf).
    const leavers = pickIds(n, Math.min(MEDIAN_LEAVES, Math.floor(n / 8)), 4242, removedOnce);
    const samples = [];
    for (const id of leavers) {
      removedOnce.add(id);
      samples.push(measure(signer, () => flushIfBatch(g.remove([id]))));
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const max = (f) => Math.max(...samples.map((r) => r.extra[f]));
    emit(buildMs, {
      mode,
      members: n - 1,
      op: `leave (median of ${samples.length})`,
      bytes: Math.max(...samples.map((r) => r.bytes)),
      ms: median(samples.map((r) => r.ms)),
      extra: {
        wraps: max('wraps'),
        messages: max('messages'),
        signMs: median(samples.map((r) => r.extra.signMs)),
        p10Ms: [...samples.map((r) => r.ms)].sort((a, b) => a - b)[Math.floor(samples.length / 10)],
        meanMs: samples.reduce((a, r) => a + r.ms, 0) / samples.length,
      },
    });
  }

  const joinKey = randomBytes(32);
  emit(buildMs, {
    mode,
    members: g.size,
    op: 'join',
    ...measure(signer, () => flushIfBatch(g.join(n + 1, joinKey))),
  });

  const k = n < BATCH_SHARE_BELOW ? Math.floor(n / 4) : BATCH_LEAVES;
  const ids = pickIds(n, k, 777, removedOnce);
  const op = n < BATCH_SHARE_BELOW ? `leave x${k} batch (N/4, N<40k)` : `leave x${k} batch`;
  emit(buildMs, {
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
    // Leaves one rekey each (what lkh without batching sends), summed: an extra row.
    const more = pickIds(n, Math.min(ONE_BY_ONE_LEAVES, k), 999, new Set([...removedOnce, ...ids]));
    const total = { bytes: 0, ms: 0, extra: { wraps: 0, messages: 0, signMs: 0 } };
    const members = g.size;
    for (const id of more) {
      const r = measure(signer, () => g.remove([id]));
      total.bytes += r.bytes;
      total.ms += r.ms;
      for (const f of Object.keys(total.extra))
        total.extra[f] = total.extra[f] === null || r.extra[f] === null ? null : total.extra[f] + r.extra[f];
    }
    emit(buildMs, { mode, members, op: `leave x${more.length} one by one`, ...total });
  }
}

/** Child process: RSS of a process that builds and holds one group of n members in `mode`. Prints one JSON row. */
function holdChild(mode, n) {
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const g = createGroupKeys(mode, PROGRAMME, memberStream(n));
  const buildMs = performance.now() - t0;
  gc();
  const after = process.memoryUsage();
  if (g.size !== n) throw new Error(`hold: built ${g.size} members, wanted ${n}`);
  process.stdout.write(
    JSON.stringify({
      mode,
      members: n,
      op: `hold ${n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n} members`,
      bytes: after.rss,
      ms: buildMs,
      extra: {
        rssBeforeBytes: before.rss,
        rssAfterBytes: after.rss,
        rssGrowthBytes: after.rss - before.rss,
        heapUsedBytes: after.heapUsed,
        externalBytes: after.external + after.arrayBuffers,
      },
    }) + '\n',
  );
}

function holdRow(mode, n) {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), 'hold', '--mode', mode, '--members', String(n)],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`bench: hold child (${mode}, ${n}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * ts-mls (RFC 9420) in the same run: a group of n members built once (n-1 key packages, one commit adding them all),
 * then the creator commits a Remove. ms: createCommit; bytes: the encoded MLSMessage (PrivateMessage, ts-mls's
 * default). A second Remove from the same state with the blank parent nodes filled in: see docs/bench.md.
 */
async function mlsRows(sizes, emit) {
  // Deep imports (the package's exports map allows them): ts-mls's index also loads its @noble provider, which imports
  // @noble/hashes, which is not installed with it (nor declared). The default provider uses Web Crypto only.
  const base = 'ts-mls/';
  const { createCommit } = await import(`${base}createCommit.js`);
  const { createGroup } = await import(`${base}clientState.js`);
  const { getCiphersuiteImpl } = await import(`${base}crypto/getCiphersuiteImpl.js`);
  const { getCiphersuiteFromName } = await import(`${base}crypto/ciphersuite.js`);
  const { defaultCapabilities } = await import(`${base}defaultCapabilities.js`);
  const { defaultLifetime } = await import(`${base}lifetime.js`);
  const { generateKeyPackage } = await import(`${base}keyPackage.js`);
  const { encodeMlsMessage } = await import(`${base}message.js`);
  const suite = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName(suite));
  const enc = new TextEncoder();
  const keyPackage = (i) =>
    generateKeyPackage(
      { credentialType: 'basic', identity: enc.encode(`member-${i}`) },
      defaultCapabilities(),
      defaultLifetime,
      [],
      cs,
    );
  for (const n of sizes) {
    const t0 = performance.now();
    const creator = await keyPackage(0);
    let state = await createGroup(enc.encode('bench'), creator.publicPackage, creator.privatePackage, [], cs);
    const others = [];
    for (let i = 1; i < n; i++) others.push(await keyPackage(i));
    const t1 = performance.now();
    const adds = others.map((k) => ({ proposalType: 'add', add: { keyPackage: k.publicPackage } }));
    state = (await createCommit({ state, cipherSuite: cs }, { extraProposals: adds })).newState;
    const t2 = performance.now();
    const build = { buildMs: t2 - t0, keyPackagesMs: t1 - t0, addCommitMs: t2 - t1, suite };
    const removed = Math.floor(n / 2) + 1; // a leaf in the other half of the tree from the committer (leaf 0)
    const remove = async (s) => {
      const ta = performance.now();
      const r = await createCommit(
        { state: s, cipherSuite: cs },
        { extraProposals: [{ proposalType: 'remove', remove: { removed } }] },
      );
      const ms = performance.now() - ta;
      return { bytes: encodeMlsMessage(r.commit).length, ms };
    };
    emit({ mode: 'ts-mls', members: n, op: 'remove', ...(await remove(state)), extra: build });
    // The same Remove once every parent node holds a key (as after every member has committed an UpdatePath):
    // ts-mls's state, with its blank parent nodes filled with a valid X25519 public key and no unmerged leaves.
    const pk = others[0].publicPackage.initKey;
    const full = state.ratchetTree.map((node, i) =>
      i % 2 === 0
        ? node
        : {
            nodeType: 'parent',
            parent:
              node === undefined
                ? { hpkePublicKey: pk, parentHash: new Uint8Array(32), unmergedLeaves: [] }
                : { ...node.parent, unmergedLeaves: [] },
          },
    );
    emit({
      mode: 'ts-mls',
      members: n,
      op: 'remove (filled tree)',
      ...(await remove({ ...state, ratchetTree: full })),
      extra: { ...build, synthetic: true },
    });
  }
}

async function rekeyBench(args) {
  const started = performance.now();
  const out = args.json ? console.error : console.log;
  const signer = generateSigningKeyPair();
  const rows = [];
  const emit = (r) => {
    if (r.bytes !== null) rows.push(r);
    printRow(r, out);
  };
  printHeader(out);
  if (args.mls) {
    await mlsRows([16], () => {}); // warm-up for ts-mls too, not reported
    await mlsRows(args.mlsSizes, emit);
  }
  // Warm-up, not reported: one small group per mode, so the first reported rows do not pay for JIT compilation.
  for (const mode of args.modes) keycastRows(signer, mode, 1_000, memberList(1_000), () => {});
  for (const n of args.sizes) {
    const list = memberList(n);
    for (const mode of args.modes)
      keycastRows(signer, mode, n, list, (buildMs, r) =>
        emit(buildMs === null ? r : { ...r, extra: { ...r.extra, buildMs } }),
      );
  }
  if (args.hold) for (const mode of args.modes) emit(holdRow(mode, args.holdMembers));
  const totalS = (performance.now() - started) / 1000;
  if (args.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  printGoals(rows, out);
  out(`\nwhole run: ${totalS.toFixed(1)} s (without npm run build)`);
}

const COLS = [
  ['mode', 6],
  ['members', 9],
  ['op', 30],
  ['bytes', 12],
  ['ms', 11],
  ['wraps', 8],
  ['msgs', 7],
  ['sign ms', 9],
];

function printHeader(out) {
  out(COLS.map(([h, w]) => h.padStart(w)).join(' '));
}

const mib = (b) => `${(b / MIB).toFixed(0)} MiB`;

function note(r) {
  const x = r.extra ?? {};
  if (x.rssAfterBytes !== undefined)
    return `rss ${mib(x.rssBeforeBytes)} -> ${mib(x.rssAfterBytes)} (+${mib(x.rssGrowthBytes)}), fresh process; ms = build`;
  if (x.addCommitMs !== undefined)
    return (
      `group built once in ${(x.buildMs / 1000).toFixed(1)} s (key packages ${(x.keyPackagesMs / 1000).toFixed(1)} s` +
      ` + add commit ${(x.addCommitMs / 1000).toFixed(1)} s)${x.synthetic ? '; parent nodes filled' : ''}`
    );
  if (x.p10Ms !== undefined) return `p10 ${x.p10Ms.toFixed(3)} ms, mean ${x.meanMs.toFixed(3)} ms`;
  return '';
}

function printRow(r, out) {
  const fmt = (v, d = 0) => (v === null || v === undefined ? '-' : typeof v === 'number' ? v.toFixed(d) : v);
  const x = r.extra ?? {};
  const cells = [
    r.mode,
    fmt(r.members),
    r.op,
    fmt(r.bytes),
    fmt(r.ms, 3),
    fmt(x.wraps),
    fmt(x.messages),
    fmt(x.signMs, 3),
  ];
  const n = note(r);
  out(cells.map((c, i) => String(c).padStart(COLS[i][1])).join(' ') + (n ? `   ${n}` : ''));
}

function printGoals(rows, out) {
  // members: the group size when the op starts, a little under N after the earlier leaves of the same group.
  const near = (r, n) => r.members <= n && r.members > n - n / 100 - 200;
  const find = (mode, n, op) => rows.find((r) => r.mode === mode && near(r, n) && r.op === op);
  const lines = [];
  const goal = (what, measured, target, met) =>
    lines.push([what, measured, target, met === undefined ? '-' : met ? 'met' : 'NOT MET']);
  const findMedian = (mode, n) =>
    rows.find((r) => r.mode === mode && near(r, n) && r.op.startsWith('leave (median'));
  const leave = find('lkh', 1_000_000, 'leave');
  const leaveMedian = findMedian('lkh', 1_000_000);
  if (leave) {
    const bytes = Math.max(leave.bytes, leaveMedian?.bytes ?? 0);
    goal('lkh leave at 1M: size (largest)', `${bytes} B`, '<= 1200 B', bytes <= 1200);
    const t = leaveMedian ?? leave;
    goal(`lkh leave at 1M: time (${t.op})`, `${t.ms.toFixed(3)} ms`, '<= 0.1 ms', t.ms <= 0.1);
  }
  const batch = find('batch', 1_000_000, `leave x${BATCH_LEAVES} batch`);
  if (batch)
    goal('10,000 batched leaves at 1M (batch)', `${batch.ms.toFixed(1)} ms`, '<= 200 ms', batch.ms <= 200);
  const lkh1k = findMedian('lkh', 1_000) ?? find('lkh', 1_000, 'leave');
  const mls1k = find('ts-mls', 1_000, 'remove');
  if (lkh1k && mls1k) {
    const ratio = mls1k.ms / lkh1k.ms;
    goal(
      'lkh leave vs ts-mls remove at 1,000',
      `${ratio.toFixed(0)}x (${lkh1k.ms.toFixed(3)} vs ${mls1k.ms.toFixed(1)} ms)`,
      '>= 1000x',
      ratio >= 1000,
    );
    const filled = find('ts-mls', 1_000, 'remove (filled tree)');
    if (filled)
      goal(
        '  (extra) same, ts-mls filled tree',
        `${(filled.ms / lkh1k.ms).toFixed(0)}x (${lkh1k.ms.toFixed(3)} vs ${filled.ms.toFixed(1)} ms)`,
        '(no goal)',
      );
  }
  for (const r of rows.filter((r) => r.op.startsWith('hold ') && r.members === 1_000_000))
    goal(`1M members in memory (${r.mode})`, `rss ${mib(r.bytes)}`, '<= 2048 MiB', r.bytes <= 2 * 1024 * MIB);
  if (lines.length === 0) return;
  const w = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => l[i].length)));
  out('\ngoals (issue 4 point 8):');
  for (const l of lines)
    out('  ' + l.map((c, i) => (i === 1 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('   '));
}

if (process.argv[2] === 'srtp') {
  const { srtpBench } = await import('./srtp/index.js');
  await srtpBench(process.argv.slice(3));
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2));
if (args.bench === 'hold') holdChild(args.mode, args.members);
else if (args.bench === 'rekey') await rekeyBench(args);
else {
  console.error(
    'usage: npm run bench -- srtp [--json] (see bench/srtp/index.js)\n' +
      '       npm run bench -- rekey [--json] [--sizes 1000,10000] [--modes flat,lkh,batch] [--mls-sizes 100,1000]' +
      ' [--hold-members 1000000] [--no-mls] [--no-hold]',
  );
  process.exit(2);
}
