// fast-check arbitraries for RTP packets, shared by the packet and SRTP property tests.

import fc from 'fast-check';
import { asSsrc } from '../../src/ids.js';
import type { RtpHeader } from '../../src/packet/rtp-header.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const rtpHeaderArb: fc.Arbitrary<RtpHeader> = fc
  .record({
    padding: fc.boolean(),
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    timestamp: u32,
    ssrc: u32.map(asSsrc),
    csrcs: fc.array(u32.map(asSsrc), { maxLength: 15 }),
    extension: fc.option(
      fc.record({
        profile: fc.oneof(
          fc.constant(0xbede),
          fc.integer({ min: 0x1000, max: 0x100f }),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        data: fc
          .integer({ min: 0, max: 16 })
          .chain((words) => fc.uint8Array({ minLength: 4 * words, maxLength: 4 * words })),
      }),
      { nil: undefined },
    ),
  })
  .map(({ extension, ...rest }) => ({ version: 2 as const, ...rest, ...(extension ? { extension } : {}) }));
