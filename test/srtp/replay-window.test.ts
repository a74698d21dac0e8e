import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/srtp/replay-window.js';

describe('ReplayWindow', () => {
  it('accepts new indices once, and nothing as old as the window size', () => {
    const w = new ReplayWindow(128, 1000);
    expect(w.accepts(1000)).toBe(true); // the starting point itself has not been received
    w.accept(1000);
    expect(w.accepts(1000)).toBe(false);
    expect(w.accepts(873)).toBe(true);
    expect(w.accepts(872)).toBe(false);
    w.accept(1100);
    expect(w.highestIndex).toBe(1100);
    expect(w.accepts(1000)).toBe(false);
    expect(w.accepts(1001)).toBe(true);
    w.accept(1001);
    expect(w.accepts(1001)).toBe(false);
  });

  it('forgets every bit when it jumps further than its size', () => {
    const w = new ReplayWindow(64, 0);
    for (let i = 0; i < 64; i++) w.accept(i);
    w.accept(2 ** 40);
    expect(w.accepts(2 ** 40 - 1)).toBe(true);
    expect(w.accepts(2 ** 40 - 63)).toBe(true);
    expect(w.accepts(2 ** 40 - 64)).toBe(false);
  });

  it('agrees with a set-based model on any sequence of 48-bit indices', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 300 }),
        fc.integer({ min: 0, max: 2 ** 48 - 10_000 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }),
        (size, base, offsets) => {
          const w = new ReplayWindow(size, base);
          const seen = new Set<number>();
          let highest = base;
          for (const o of offsets) {
            const index = base + o;
            const expected = !seen.has(index) && (index > highest || highest - index < size);
            expect(w.accepts(index)).toBe(expected);
            if (expected) {
              w.accept(index);
              seen.add(index);
              highest = Math.max(highest, index);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
