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

/** Goals at 1200 B: keycast pair ≥ 4× werift-rtp (both suites), ≥ 1× libsrtp2 (AES-CM). */
export function printGoals(rows, out) {
  const pair = (impl, suite) =>
    rows.find((r) => r.impl === impl && r.suite === suite && r.payloadBytes === 1200 && r.op === 'pair');
  const goals = [];
  const goal = (suite, peer, target) => {
    const a = pair('keycast', suite);
    const b = pair(peer, suite);
    const ratio = a && b ? a.packetsPerSecond / b.packetsPerSecond : null;
    goals.push({
      goal: `keycast pair vs ${peer}, ${suite}, 1200 B`,
      ratio: ratio === null ? null : Number(ratio.toFixed(2)),
      target,
      met: ratio === null ? null : ratio >= target,
    });
  };
  goal('AES_CM_128_HMAC_SHA1_80', 'werift-rtp', 4);
  goal('AEAD_AES_128_GCM', 'werift-rtp', 4);
  goal('AES_CM_128_HMAC_SHA1_80', 'libsrtp2', 1);
  goal('AEAD_AES_128_GCM', 'libsrtp2', null);
  out('\ngoals (issue 5 item 6), pair throughput at 1200 B:');
  for (const g of goals) {
    const measured = g.ratio === null ? 'not measured' : `${g.ratio.toFixed(2)}x`;
    const verdict = g.target === null ? '(no goal)' : g.met === null ? '-' : g.met ? 'met' : 'NOT MET';
    out(
      `  ${g.goal.padEnd(60)} ${measured.padStart(12)}   ${g.target === null ? '' : `>= ${g.target}x`.padEnd(6)} ${verdict}`,
    );
  }
  return goals;
}
