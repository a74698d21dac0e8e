// The SRTP bench's table and goals (issue 5 item 6).
const COLS = [
  ['impl', 11],
  ['suite', 24],
  ['bytes', 6],
  ['op', 26],
  ['packets/s', 11],
  ['min..max', 22],
];

export function printTableHeader(out) {
  out(COLS.map(([h, w], i) => (i < 2 ? h.padEnd(w) : h.padStart(w))).join(' '));
}

const k = (x) => `${(x / 1000).toFixed(0)}k`;

export function printRow(row, r, out) {
  const spread = r.min !== undefined ? `${k(r.min)}..${k(r.max)}` : (r.note ?? '');
  const cells = [row.impl, row.suite, row.payloadBytes, row.op, row.packetsPerSecond, spread];
  out(cells.map((c, i) => (i < 2 ? String(c).padEnd(COLS[i][1]) : String(c).padStart(COLS[i][1]))).join(' '));
}

/** The goals of issue 5 item 6: pair throughput at 1200 B against each peer (target null: shown, no goal). */
export const GOALS = [
  { suite: 'AES_CM_128_HMAC_SHA1_80', peer: 'werift-rtp', target: 4 },
  { suite: 'AEAD_AES_128_GCM', peer: 'werift-rtp', target: 4 },
  { suite: 'AES_CM_128_HMAC_SHA1_80', peer: 'libsrtp2', target: 1 },
  { suite: 'AEAD_AES_128_GCM', peer: 'libsrtp2', target: null },
];

/** `ratios[i]` is { ratio, min, max } for GOALS[i] (median and spread of interleaved samples), or null. */
export function printGoals(ratios, out) {
  out(
    '\ngoals (issue 5 item 6): keycast pair / peer pair at 1200 B, samples interleaved (median, min..max):',
  );
  GOALS.forEach((g, i) => {
    const r = ratios[i];
    const what = `keycast vs ${g.peer}, ${g.suite}`;
    const measured =
      r === null ? 'not measured' : `${r.ratio.toFixed(2)}x (${r.min.toFixed(1)}..${r.max.toFixed(1)})`;
    const verdict =
      g.target === null ? '(no goal)' : r === null ? '-' : r.ratio >= g.target ? 'met' : 'NOT MET';
    const target = g.target === null ? '' : `>= ${g.target}x`;
    out(`  ${what.padEnd(48)} ${measured.padStart(24)}   ${target.padEnd(6)} ${verdict}`);
  });
}
