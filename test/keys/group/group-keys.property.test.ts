// Issue 4 point 5: rekey invariants over random join/leave sequences, for each mode, after the wire round trip
// (signGroupRekey → datagrams < 1200 bytes → verify → GroupKeyRing): every member recovers the current group key,
// a removed member unwraps nothing later, a later joiner unwraps nothing earlier, and the rekey size stays within
// the mode's bound (stated in src/keys/group/flat.ts and tree.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TreeGroupKeys, type GroupMode } from '../../../src/keys/group/index.js';
import { Sim } from './harness.js';

type Op =
  | { readonly kind: 'join' }
  | { readonly kind: 'leave'; readonly picks: readonly number[] }
  | { readonly kind: 'flush' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'join' as const }) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.nat(), { minLength: 1, maxLength: 3 })
      .map((picks) => ({ kind: 'leave' as const, picks })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

const log2ceil = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

function run(mode: GroupMode, ops: readonly Op[]): void {
  const sim = new Sim(mode);
  let changes = 0; // joins and removals since the last rekey (batch)
  for (const op of ops) {
    if (op.kind === 'join') {
      const { rekey } = sim.join();
      changes += 1;
      const n = sim.group.size;
      if (mode === 'flat') expect(rekey!.wraps.length).toBeLessThanOrEqual(2);
      if (mode === 'lkh') expect(rekey!.wraps.length).toBeLessThanOrEqual(2 * Math.max(1, log2ceil(n)));
      if (mode === 'batch') expect(rekey).toBeUndefined();
    } else if (op.kind === 'leave') {
      const ids = [...sim.members.keys()];
      if (ids.length === 0) continue;
      const chosen = [...new Set(op.picks.map((p) => ids[p % ids.length]!))];
      const depthBefore = sim.group instanceof TreeGroupKeys ? sim.group.depth() : 1;
      const rekey = sim.remove(chosen);
      changes += chosen.length;
      if (mode === 'flat') expect(rekey!.wraps.length).toBe(sim.group.size);
      if (mode === 'lkh') {
        // One leave at depth d costs 2·(d-1) wraps (2 if d = 1); d <= depth <= ceil(log2 Npeak).
        const perLeave = 2 * Math.max(1, depthBefore - 1);
        expect(rekey!.wraps.length).toBeLessThanOrEqual(chosen.length * perLeave);
        if (chosen.length === 1)
          expect(rekey!.wraps.length).toBeLessThanOrEqual(2 * Math.max(1, log2ceil(sim.peak) - 1));
      }
      if (mode === 'batch') expect(rekey).toBeUndefined();
    } else {
      const rekey = sim.flush();
      if (mode !== 'batch') expect(rekey).toBeUndefined();
      else if (changes === 0) expect(rekey).toBeUndefined();
      else {
        // Each node changes once; 2 wraps per changed node; at most `depth` nodes per change.
        const nodes = new Set(rekey!.wraps.map((w) => w.node));
        expect(rekey!.wraps.length).toBeLessThanOrEqual(2 * nodes.size);
        expect(nodes.size).toBeLessThanOrEqual(changes * Math.max(1, log2ceil(sim.peak)));
      }
      changes = 0;
    }
    if (sim.group instanceof TreeGroupKeys)
      expect(sim.group.depth()).toBeLessThanOrEqual(Math.max(1, log2ceil(sim.peak)));
    sim.checkAllHoldGroupKey();
  }
  sim.flush();
  sim.checkAllHoldGroupKey();
  expect(sim.group.pending).toBe(false);
}

describe.each(['flat', 'lkh', 'batch'] as const)(
  'group keys, %s mode, random join/leave sequences',
  (mode) => {
    it('every member recovers the group key; removed and later members unwrap nothing; size within bound', () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => run(mode, ops)),
        { seed: 20260401, numRuns: 40 },
      );
    });
  },
);
