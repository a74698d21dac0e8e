// Claim 29 end to end on loopback multicast: a programme in phase mode (docs/key-phase.md) through the real key
// server, sender and receiver. "Utilizing a padding bit in said header portion to indicate key changes to said
// client": the RTP P bit carries the key phase, no MKI bytes, several key changes, and the receiver hands on the
// original RTP packets and a TS byte-identical to the input. Packets that really had padding are covered at the
// SRTP level (test/srtp/key-phase.test.ts): this sender never pads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { sendToOneViewer, startSystem, type TestSystem } from '../helpers/system.js';

const P_BIT = 0x20;
const TAG_BYTES = 10; // AES_CM_128_HMAC_SHA1_80
const PACKETS = 450;

describe('claim 29: the RTP padding bit as the key phase', () => {
  let system: TestSystem;
  let media: Uint8Array;
  let wire: Buffer[];
  let rtp: Buffer[];
  let output: Buffer;
  let stats: {
    keysInstalled: number;
    rejectedByReason: object;
    packetsDecrypted: number;
    srtcp: { accepted: number; rejected: number };
  };
  let keysRotated: number;

  beforeAll(async () => {
    // Phase mode needs a crypto period longer than the announcement look-ahead ((150 + 500 ms) x speed 1).
    system = await startSystem({ keyChange: 'phase', cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
    ({ media, wire, rtp, output, stats, keysRotated } = await sendToOneViewer(system, PACKETS, {
      speed: 1,
      leadMs: 150,
    }));
  }, 60_000);
  afterAll(async () => system.close());

  it('SRTCP sender reports, which carry no phase and no MKI, verify under whichever key is current', () => {
    // One a second across at least three key changes: the receiver tells the keys apart by trial.
    expect(stats.srtcp.accepted).toBeGreaterThanOrEqual(3);
    expect(stats.srtcp.rejected).toBe(0);
  });

  it('the key server tells clients the programme uses phase mode, with no MKI', () => {
    expect(system.programme).toMatchObject({ keyChange: 'phase', mkiLengthBytes: 0 });
  });

  it('no bytes are added for key signalling: each packet is the RTP packet plus the tag', () => {
    expect(wire).toHaveLength(PACKETS);
    expect(rtp).toHaveLength(PACKETS);
    for (let i = 0; i < PACKETS; i++) expect(wire[i]!.length).toBe(rtp[i]!.length + TAG_BYTES);
  });

  it('the P bit flips at every key change, and the receiver followed every one', () => {
    const phases = wire.map((p) => (p[0]! & P_BIT) >>> 5);
    const flips = phases.filter((ph, i) => i > 0 && ph !== phases[i - 1]).length;
    expect(keysRotated).toBeGreaterThanOrEqual(3);
    expect(flips).toBe(keysRotated);
    expect(stats.keysInstalled).toBeGreaterThanOrEqual(keysRotated + 1);
    expect(stats.rejectedByReason).toEqual({});
  });

  it('hands on the original RTP packets: the header as sent, P=0 restored, and the TS byte-identical', () => {
    for (let i = 0; i < PACKETS; i++) {
      const w = decodeRtpHeader(wire[i]!);
      const r = decodeRtpHeader(rtp[i]!);
      expect(w.ok && r.ok).toBe(true);
      if (!w.ok || !r.ok) return;
      expect(r.header.padding).toBe(false);
      expect({ ...r.header, padding: w.header.padding }).toEqual(w.header);
    }
    expect(stats.packetsDecrypted).toBe(PACKETS);
    expect(output.equals(Buffer.from(media))).toBe(true);
  });
});
