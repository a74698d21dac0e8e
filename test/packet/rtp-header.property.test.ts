import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRtpHeader, encodeRtpHeader, rtpHeaderSize } from '../../src/packet/rtp-header.js';
import { rtpHeaderArb } from './arbitraries.js';

describe('RTP header properties', () => {
  it('decodeRtpHeader is total on random bytes, and what it accepts re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, forceVersion) => {
        if (forceVersion && bytes.length > 0) bytes[0] = (bytes[0]! & 0x3f) | 0x80;
        const r = decodeRtpHeader(bytes);
        if (!r.ok) {
          expect(['too_short', 'bad_version', 'bad_header']).toContain(r.reason);
          return;
        }
        expect(r.headerLengthBytes).toBeLessThanOrEqual(bytes.length);
        expect(rtpHeaderSize(r.header)).toBe(r.headerLengthBytes);
        expect(encodeRtpHeader(r.header)).toEqual(bytes.subarray(0, r.headerLengthBytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('encode then decode gives the header back, with any trailing bytes', () => {
    fc.assert(
      fc.property(rtpHeaderArb, fc.uint8Array({ maxLength: 40 }), (h, tail) => {
        const head = encodeRtpHeader(h);
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        const r = decodeRtpHeader(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.headerLengthBytes).toBe(head.length);
        expect(r.header).toEqual(h);
      }),
      { numRuns: 500 },
    );
  });
});
