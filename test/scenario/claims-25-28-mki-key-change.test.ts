// Claims 25-28 end to end on loopback multicast, in MKI mode (the default): the real key server, sender and
// receiver. Claim 25: an RTP packet (header + payload) gets an inserted field that indicates key changes, the SRTP
// MKI, and the modified packet is transmitted. 26: the client receives it. 27: removing the field recovers the RTP
// packet. 28: the client determines from the field whether a key change occurred.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { decodeSrtpTrailer } from '../../src/packet/srtp-trailer.js';
import { SrtpReceiver, srtpParams } from '../../src/srtp/index.js';
import { sendToOneViewer, startSystem, type TestSystem } from '../helpers/system.js';

const MKI_BYTES = 4;
const TAG_BYTES = 10; // AES_CM_128_HMAC_SHA1_80
const PACKETS = 400;

describe('claims 25-28: the MKI as the key-change field', () => {
  let system: TestSystem;
  let media: Uint8Array;
  let wire: Buffer[];
  let rtp: Buffer[];
  let output: Buffer;
  let stats: {
    packetsReceived: number;
    packetsDecrypted: number;
    rejectedByReason: object;
    keysInstalled: number;
  };
  let keysRotated: number;

  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000, mkiLengthBytes: MKI_BYTES });
    ({ media, wire, rtp, output, stats, keysRotated } = await sendToOneViewer(system, PACKETS, { speed: 8 }));
  }, 60_000);
  afterAll(async () => system.close());

  const mkiOf = (p: Buffer): number => {
    const t = decodeSrtpTrailer(p, { mkiLengthBytes: MKI_BYTES, authTagBytes: TAG_BYTES });
    if (!t.ok) throw new Error('short packet');
    return t.trailer.mki;
  };

  it('claim 25: every transmitted packet is an RTP packet with the MKI field inserted after the payload', () => {
    expect(system.programme).toMatchObject({ keyChange: 'mki', mkiLengthBytes: MKI_BYTES });
    expect(wire).toHaveLength(PACKETS);
    for (const p of wire) {
      const h = decodeRtpHeader(p);
      expect(h.ok && h.header.version).toBe(2);
      expect(h.ok && h.header.payloadType).toBe(33); // MP2T, RFC 3551
    }
    // The field indicates key changes: it names the content key, and it changes as the keys rotate.
    const mkis = wire.map(mkiOf);
    const changes = mkis.filter((m, i) => i > 0 && m !== mkis[i - 1]).length;
    expect(keysRotated).toBeGreaterThanOrEqual(3);
    expect(changes).toBe(keysRotated);
    expect(mkis).toEqual([...mkis].sort((a, b) => a - b)); // key ids only go up
  });

  it('claim 26: the client receives the modified packets', () => {
    expect(stats.packetsReceived).toBe(PACKETS);
  });

  it('claim 27: removing the field (and the tag) recovers the RTP packet, the TS byte-identical to the input', () => {
    expect(rtp).toHaveLength(PACKETS);
    for (let i = 0; i < PACKETS; i++) {
      expect(rtp[i]!.length).toBe(wire[i]!.length - MKI_BYTES - TAG_BYTES);
      expect(rtp[i]!.subarray(0, 12).equals(wire[i]!.subarray(0, 12))).toBe(true); // the header as sent
    }
    expect(stats.rejectedByReason).toEqual({});
    expect(output.equals(Buffer.from(media))).toBe(true);
  });

  it('claim 28: the client tells from the field alone whether a key change occurred, and which key to use', () => {
    // A bare SRTP receiver holding no key reads the key change from the field: unknown_key names the new key id.
    const bare = new SrtpReceiver(srtpParams(system.programme));
    const seen = new Set<number>();
    for (const p of wire) {
      const r = bare.unprotect(p);
      expect(r).toMatchObject({ ok: false, reason: 'unknown_key', keyId: mkiOf(p) });
      if (!r.ok && r.keyId !== undefined) seen.add(r.keyId);
    }
    expect(seen.size).toBe(keysRotated + 1);
    expect(stats.keysInstalled).toBeGreaterThanOrEqual(seen.size);
  });
});
