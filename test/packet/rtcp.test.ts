import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asSsrc } from '../../src/ids.js';
import {
  decodeRtcpCompound,
  encodeRtcpCompound,
  encodeSenderReportCompound,
  ntpOfUnixMs,
  unixMsOfNtp,
  type RtcpPacket,
} from '../../src/packet/rtcp.js';
import { hex, toHex } from '../srtp/helpers.js';

const SR = {
  ssrc: asSsrc(0xcafebabe),
  ntp: { seconds: 0xe8f0_0000, fraction: 0x8000_0000 },
  rtpTimestamp: 90_000,
  packetCount: 7,
  octetCount: 7 * 1316,
};

function rejection(bytes: Uint8Array): string {
  const r = decodeRtcpCompound(bytes);
  if (r.ok) throw new Error('expected a rejection');
  return r.reason;
}

describe('compound RTCP (RFC 3550 §6)', () => {
  it('encodes SR + SDES CNAME to the RFC 3550 layout, byte for byte', () => {
    const bytes = encodeSenderReportCompound(SR, 'ab');
    expect(toHex(bytes)).toBe(
      '80c80006cafebabe' + // V=2, RC=0, PT=200, length 6 words-1, SSRC
        'e8f0000080000000' + // NTP
        '00015f90' + // RTP timestamp 90000
        '00000007' + // packet count
        '000023fc' + // octet count 9212
        '81ca0003cafebabe' + // V=2, SC=1, PT=202, length 3
        '01026162' + // CNAME, 2 bytes "ab"
        '00000000', // end of items, then nulls to the boundary
    );
    const r = decodeRtcpCompound(bytes);
    expect(r.ok && r.cname).toBe('ab');
    expect(r.ok && r.packets[0]).toEqual({ type: 'sr', ...SR, reports: [] });
  });

  it('round-trips RR with report blocks (negative cumulative loss), SDES with several items, and other types', () => {
    const packets: RtcpPacket[] = [
      {
        type: 'rr',
        ssrc: asSsrc(1),
        reports: [
          {
            ssrc: asSsrc(2),
            fractionLost: 255,
            cumulativeLost: -3,
            highestSeq: 0x1_0005,
            jitter: 9,
            lastSr: 0x1234_5678,
            delaySinceLastSr: 65_536,
          },
        ],
      },
      {
        type: 'sdes',
        chunks: [
          { ssrc: asSsrc(1), items: [{ itemType: 1, value: new TextEncoder().encode('user@host') }] },
          { ssrc: asSsrc(2), items: [{ itemType: 2, value: hex('4e') }] },
        ],
      },
      { type: 'other', packetType: 203, count: 1, body: hex('00000001') }, // BYE
    ];
    const r = decodeRtcpCompound(encodeRtcpCompound(packets));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.cname).toBe('user@host');
    expect(JSON.parse(JSON.stringify(r.packets))).toEqual(JSON.parse(JSON.stringify(packets)));
  });

  it('converts between Unix milliseconds and NTP time', () => {
    expect(ntpOfUnixMs(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 });
    expect(ntpOfUnixMs(1500)).toEqual({ seconds: 2_208_988_801, fraction: 0x8000_0000 });
    const now = 1_767_225_600_123;
    expect(Math.abs(unixMsOfNtp(ntpOfUnixMs(now)) - now)).toBeLessThan(0.001);
  });

  it('accepts padding in the last packet only, with a sane count', () => {
    const good = encodeSenderReportCompound(SR, 'ab');
    const padded = new Uint8Array(good.length + 4);
    padded.set(good);
    padded[good.length + 3] = 4;
    padded[28] = 0xa1; // SDES header: P=1, SC=1
    padded[31] = 4; // length 4 words - 1
    expect(decodeRtcpCompound(padded).ok).toBe(true);

    const padFirst = Uint8Array.from(good);
    padFirst[0] = 0xa0;
    expect(rejection(padFirst)).toBe('bad_padding');
    const zeroCount = Uint8Array.from(padded);
    zeroCount[padded.length - 1] = 0;
    expect(rejection(zeroCount)).toBe('bad_padding');
    const hugeCount = Uint8Array.from(padded);
    hugeCount[padded.length - 1] = 200;
    expect(rejection(hugeCount)).toBe('bad_padding');
  });

  it('rejects each malformation with its reason', () => {
    const good = encodeSenderReportCompound(SR, 'ab');
    const mutate = (at: number, value: number) => {
      const b = Uint8Array.from(good);
      b[at] = value;
      return b;
    };
    expect(rejection(new Uint8Array(0))).toBe('too_short');
    expect(rejection(good.subarray(0, 3))).toBe('too_short');
    expect(rejection(good.subarray(0, good.length - 1))).toBe('bad_length'); // SDES length runs past the end
    expect(rejection(mutate(0, 0x40))).toBe('bad_version');
    expect(rejection(mutate(3, 0x0b))).toBe('bad_length'); // SR length runs past the end
    expect(rejection(mutate(3, 0x03))).toBe('bad_length'); // SR shorter than its sender info
    expect(rejection(mutate(0, 0x81))).toBe('bad_length'); // RC=1 but no report block
    expect(rejection(good.subarray(28))).toBe('bad_first_packet'); // SDES alone
    expect(rejection(good.subarray(0, 28))).toBe('no_cname'); // SR alone
    expect(rejection(mutate(41, 0x01))).toBe('bad_sdes'); // non-null chunk padding
    expect(rejection(mutate(37, 0x09))).toBe('bad_sdes'); // item runs past the packet
    expect(rejection(mutate(28, 0x82))).toBe('bad_sdes'); // SC=2, one chunk
    const noCname = mutate(36, 0x02); // NAME instead of CNAME
    expect(rejection(noCname)).toBe('no_cname');
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeRtcpCompound(bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
      { seed: 3550, numRuns: 2000 },
    );
  });

  it('throws on values that do not fit their fields', () => {
    expect(() => encodeSenderReportCompound({ ...SR, packetCount: 2 ** 32 }, 'x')).toThrow(
      'RTCP packetCount must be an integer in 0..4294967295, got 4294967296',
    );
    expect(() => encodeSenderReportCompound(SR, 'x'.repeat(256))).toThrow(/at most 255 bytes/);
  });
});
