import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SRTP_MAX_INDEX,
  estimateSrtpIndex,
  rocOfIndex,
  seqOfIndex,
  srtpIndex,
} from '../../src/srtp/index.js';

describe('RFC 3711 Appendix A index estimation', () => {
  it('takes ROC 0 and the sequence number for a stream not yet seen', () => {
    expect(estimateSrtpIndex(undefined, 65535)).toBe(65535);
    expect(estimateSrtpIndex(undefined, 0)).toBe(0);
  });

  it.each([
    // [ROC, s_l, SEQ, expected index]
    [0, 65535, 0, 0x10000], // s_l >= 2^15 and s_l - 2^15 > SEQ: ROC + 1
    [0, 65535, 1, 0x10001],
    [1, 2, 65535, 0xffff], // s_l < 2^15 and SEQ - s_l > 2^15: ROC - 1
    [0, 65530, 0x4000, 0x14000],
    [0, 65530, 0x8000, 0x8000],
    [0, 100, 32868, 32868], // SEQ - s_l = 2^15 exactly: same ROC
    [0, 100, 32869, -0x10000 + 32869], // ROC - 1 below 0: the caller refuses it
    [0xffffffff, 65535, 0, 2 ** 48], // ROC + 1 past 2^32 - 1: the caller refuses it
  ])('ROC %i, s_l %i, SEQ %i -> %i', (roc, lastSeq, seq, expected) => {
    expect(estimateSrtpIndex(srtpIndex(roc, lastSeq), seq)).toBe(expected);
  });

  it('is exact on 48-bit numbers: ROC 0x00010000, SEQ 5 is 4294967301', () => {
    expect(srtpIndex(0x00010000, 5)).toBe(4294967301);
    expect(rocOfIndex(4294967301)).toBe(0x10000);
    expect(seqOfIndex(4294967301)).toBe(5);
    expect(srtpIndex(0xffffffff, 0xffff)).toBe(SRTP_MAX_INDEX);
    expect(SRTP_MAX_INDEX).toBe(281474976710655);
  });

  it('recovers any index within 2^15 of the highest one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x8000, max: 2 ** 48 - 1 - 0x8000 }),
        fc.integer({ min: -0x7fff, max: 0x7fff }),
        (highest, delta) => {
          const index = highest + delta;
          expect(estimateSrtpIndex(highest, index % 0x10000)).toBe(index);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
