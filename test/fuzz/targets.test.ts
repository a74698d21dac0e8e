// A fixed-seed sample of every fuzz target (fuzz/targets/, the same code `npm run fuzz` runs a million times each):
// no exception, no state change after a rejection, every rejection counted by reason. And the harness itself can
// fail: a target that throws, or breaks an invariant, is reported with its counterexample.
import { describe, expect, it } from 'vitest';
import { mutate } from '../../fuzz/mutate.js';
import { Prng } from '../../fuzz/prng.js';
import { loadFuzzTargets } from '../../fuzz/registry.js';
import { runTarget } from '../../fuzz/runner.js';
import { ACCEPTED, check, rejected, type FuzzTarget } from '../../fuzz/target.js';

const SAMPLE_CASES = 3000;
const SEED = 20_250_501;
const targets = await loadFuzzTargets();

describe('fuzz targets, fixed-seed sample', () => {
  it('finds the rtp, srtp, srtcp, key-message and group-rekey targets', () => {
    expect(targets.map((t) => t.name)).toEqual(
      expect.arrayContaining(['rtp', 'srtp', 'srtcp', 'key-message', 'group-rekey']),
    );
  });

  for (const target of targets) {
    it(`${target.name}: ${SAMPLE_CASES} cases without a failure, every rejection counted by reason`, () => {
      const r = runTarget(target, { cases: SAMPLE_CASES, seed: SEED });
      expect(r.failure).toBeUndefined();
      expect(r.cases).toBe(SAMPLE_CASES);
      expect(r.accepted + r.rejected).toBe(SAMPLE_CASES);
      expect(Object.values(r.reasons).reduce((a, b) => a + b, 0)).toBe(r.rejected);
      // The sample reaches both sides: valid inputs get through, garbage is refused for more than one reason.
      expect(r.accepted).toBeGreaterThan(0);
      expect(Object.keys(r.reasons).length).toBeGreaterThan(2);
    });
  }
});

/** A stand-in for code under test that throws on a 0x42 first byte and "changes state" on 0x43. */
const brittle: FuzzTarget = {
  name: 'brittle',
  summary: 'test only',
  setup: () => ({
    generate: (rng) => rng.bytes(1 + rng.below(4)),
    feed(input) {
      if (input[0] === 0x42) throw new TypeError('Cannot read properties of undefined');
      check(input[0] !== 0x43, () => 'state changed after a rejection');
      return input[0]! < 0x80 ? ACCEPTED : rejected('too_short');
    },
    finish() {},
  }),
};

describe('fuzz harness', () => {
  it('reports an escaped exception or a broken invariant with the case number and the input in hex', () => {
    const r = runTarget(brittle, { cases: 100_000, seed: 1 });
    expect(r.failure).toBeDefined();
    expect(['exception', 'invariant']).toContain(r.failure!.kind);
    expect(r.failure!.inputHex.slice(0, 2)).toMatch(/^4[23]$/);
    expect(r.cases).toBe(r.failure!.caseNumber);
  });

  it('replays exactly from its seed', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const draws = (p: Prng) => Array.from({ length: 100 }, () => p.u32());
    expect(draws(a)).toEqual(draws(b));
    expect(draws(new Prng(8))).not.toEqual(draws(new Prng(7)));
  });

  it('mutates a copy: the valid input is never written', () => {
    const rng = new Prng(3);
    const input = Uint8Array.from({ length: 64 }, (_, i) => i);
    const copy = input.slice();
    let changed = 0;
    for (let i = 0; i < 2000; i++) {
      const m = mutate(rng, {
        input,
        fields: [{ name: 'f', offset: 0, lengthBytes: 1, mask: 0xc0 }],
        others: [copy],
      });
      if (Buffer.compare(m, input) !== 0) changed++;
    }
    expect(input).toEqual(copy);
    expect(changed).toBeGreaterThan(1800); // a few are no-ops (a field set to its own value, a splice with itself)
  });
});
