// The receiver's rollover rule (claim 12), alone: when the copy of a content key under the previous segment's key
// may be used. End to end: test/scenario/claim-12-rollover.test.ts.
import { describe, expect, it } from 'vitest';
import { isFinalRefusal, rolloverCopy, segmentOf } from '../../src/receiver/rollover.js';

const PSK = { 4: new Uint8Array(32).fill(4), 5: new Uint8Array(32).fill(5) } as const;
const CK = { masterKey: new Uint8Array(16).fill(1), masterSalt: new Uint8Array(14).fill(2) };

/** The first key of segment 5, wrapped under PSK(5) and PSK(4); unwrap checks the PSK is the segment's. */
const firstOf5 = {
  segments: [5, 4],
  unwrap: (segment: number, psk: Uint8Array) =>
    psk[0] === segment && (segment === 4 || segment === 5) ? CK : undefined,
};

function keys(held: Partial<Record<number, Uint8Array>>, refused: Partial<Record<number, string>> = {}) {
  return { held: (s: number) => held[s], refusal: (s: number) => refused[s] };
}

describe('rollover rule (claim 12)', () => {
  it('a key belongs to the newest segment its message names', () => {
    expect(segmentOf({ segments: [4, 5] })).toBe(5);
    expect(segmentOf({ segments: [7] })).toBe(7);
    expect(segmentOf({ segments: [] })).toBeUndefined();
  });

  it('uses the copy under PSK(N-1) only when packets need the key and PSK(N) is on its way', () => {
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4] }))).toEqual({ key: CK, under: 4 });
    // Key server unreachable (a retryable failure): still on its way.
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4] }, { 5: 'network_error' }))).toEqual({
      key: CK,
      under: 4,
    });
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4] }, { 5: 'log_unavailable' }))).toEqual({
      key: CK,
      under: 4,
    });
  });

  it('never before packets need it, never when PSK(N) is held, never after a final refusal', () => {
    expect(rolloverCopy(firstOf5, false, keys({ 4: PSK[4] }))).toBeUndefined();
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4], 5: PSK[5] }))).toBeUndefined();
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4] }, { 5: 'not_entitled' }))).toBeUndefined();
    expect(rolloverCopy(firstOf5, true, keys({ 4: PSK[4] }, { 5: 'bad_key' }))).toBeUndefined();
    // Nothing to open it with, or a key with one copy only.
    expect(rolloverCopy(firstOf5, true, keys({}))).toBeUndefined();
    expect(rolloverCopy({ ...firstOf5, segments: [5] }, true, keys({ 4: PSK[4] }))).toBeUndefined();
  });

  it('tells final refusals from a key server that did not answer', () => {
    for (const code of ['not_entitled', 'forbidden_role', 'unknown_segment', 'bad_response', 'bad_key'])
      expect(isFinalRefusal(code)).toBe(true);
    for (const code of [undefined, 'network_error', 'timeout', 'not_yet', 'log_unavailable', 'unreachable'])
      expect(isFinalRefusal(code)).toBe(false);
  });
});
