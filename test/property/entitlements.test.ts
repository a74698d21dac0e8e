// Property over random per-segment entitlements: a client never decrypts a packet of a segment it did not buy, and
// always decrypts every packet of the segments it did. One programme is sent once by the real sender through the
// real key server, and its media and key datagrams are captured off the loopback group. For each random
// entitlement a new client is enrolled and granted the segments it bought, and the capture is replayed into a
// real Receiver (its clock set to each datagram's arrival time, so the key messages are as fresh as they were on
// the air) that fetches its segment keys over HTTP from the real key server. Each datagram waits for the fetches
// it started, as the sender's lead gives a receiver time for them on the air. Each packet handed on is mapped to
// its segment by its RTP sequence number, and that to the segment of the key id its MKI carried.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asProgrammeId, asSegmentIndex } from '../../src/ids.js';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { Receiver } from '../../src/receiver/receiver.js';
import { grantSegments } from '../../src/store/index.js';
import {
  bytesOfSegments,
  captureProgramme,
  mapCapture,
  type CapturedDatagram,
  type MediaPacket,
} from '../helpers/capture.js';
import { quietLog, sampleSlice, sendMedia, startSystem, type TestSystem } from '../helpers/system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('entitlements (property)', () => {
  let system: TestSystem;
  let media: Uint8Array;
  let datagrams: readonly CapturedDatagram[];
  let packets: readonly MediaPacket[];
  let segments: number;
  let serverPublicKey: Uint8Array;

  beforeAll(async () => {
    // 500 ms crypto periods, 1 s segments: the ≈ 5.5 s slice is 6 segments with a rollover at each boundary.
    system = await startSystem({ cryptoPeriodMs: 500, segmentLengthMs: 1000 });
    const sender = await system.enrol('encoder', 'sender');
    serverPublicKey = sender.credentials.serverPublicKey;
    media = await sampleSlice(500);
    const capture = await captureProgramme(system);
    const { progress } = await sendMedia(system, sender, media, { speed: 4 });
    await sleep(200);
    await capture.close();
    datagrams = capture.datagrams;
    const mapped = mapCapture(system, datagrams, serverPublicKey);
    packets = mapped.media;
    expect(packets).toHaveLength(progress.packetsSent); // nothing lost: the replay is the whole programme
    segments = progress.segment + 1;
    expect(segments).toBeGreaterThanOrEqual(4);
    // Every boundary had its double-wrapped key on the air.
    expect([...mapped.keys.values()].filter((k) => k.segments.length === 2)).toHaveLength(segments - 1);
  });
  afterAll(async () => system.close());

  /** Replays the capture into a real Receiver for a client that bought `bought`; what it handed on. */
  async function replay(bought: readonly boolean[], n: number) {
    const viewer = await system.enrol(`viewer-${n}`, 'receiver');
    for (const [segment, yes] of bought.entries()) {
      if (!yes) continue;
      await grantSegments(system.store, {
        clientId: viewer.credentials.clientId,
        programmeId: asProgrammeId(system.programme.id),
        fromSegment: asSegmentIndex(segment),
        toSegment: asSegmentIndex(segment),
      });
    }
    let clock = 0;
    let inFlight = 0;
    const seqs: number[] = [];
    const payloads: Buffer[] = [];
    const receiver = new Receiver({
      programme: system.programme,
      interfaceAddress: '127.0.0.1',
      log: quietLog,
      now: () => clock,
      holdMs: 60_000,
      holdPackets: 100_000,
      sinks: [
        {
          write: (packet, payload) => {
            const h = decodeRtpHeader(packet);
            seqs.push(h.ok ? h.header.sequenceNumber : -1);
            payloads.push(Buffer.from(payload));
          },
          close: () => Promise.resolve(),
        },
      ],
      openKeyMessage: keyMessageOpener(viewer.credentials.serverPublicKey),
      fetchSegmentKey: async (segment) => {
        inFlight++;
        try {
          const r = await viewer.client.requestSegmentKey(system.programme.id, segment);
          return r.ok ? { ok: true, key: r.segmentKey } : { ok: false, code: r.code, retryable: r.retryable };
        } finally {
          inFlight--;
        }
      },
    });
    for (const d of datagrams) {
      clock = d.atMs;
      if (d.kind === 'key') receiver.onKeyDatagram(d.bytes);
      else receiver.onMediaDatagram(d.bytes);
      await new Promise(setImmediate); // a fetch may start a tick later
      while (inFlight > 0) await sleep(1);
    }
    await receiver.close();
    return { seqs, output: Buffer.concat(payloads), stats: receiver.stats };
  }

  it('a client never decrypts a segment it did not buy, and always decrypts the ones it did', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: segments, maxLength: segments }),
        async (bought) => {
          const { seqs, output, stats } = await replay(bought, run++);
          const wanted = packets.filter((p) => bought[p.segment] === true);
          expect(seqs).toEqual(wanted.map((p) => p.seq));
          expect(output.equals(bytesOfSegments(media, packets, (s) => bought[s] === true))).toBe(true);
          // It asked once for each segment it met, and was refused exactly the ones it did not buy.
          expect(stats.refusals.map((r) => r.segment).sort((a, b) => a - b)).toEqual(
            bought.flatMap((yes, s) => (yes ? [] : [s])),
          );
          expect(stats.rolloverKeys).toBe(0);
        },
      ),
      { seed: 1203, numRuns: 24, endOnFailure: true },
    );
    expect(run).toBeGreaterThanOrEqual(24);
  });
});
