// SRTCP on the wire: the sender multicasts sender reports as SRTCP on the RTP port + 1 with the right counts; the
// receiver verifies and counts them; tampered, replayed and garbage datagrams on the RTCP port are rejected by
// reason and change nothing, neither the RTCP state nor the media, which still decrypts byte for byte.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSrtcp } from '../../src/packet/srtcp-trailer.js';
import {
  captureGroup,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestSystem,
} from '../helpers/system.js';

const LAYOUT = { mkiLengthBytes: 4, authTagBytes: 10, cipherOverheadBytes: 0 } as const;
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('SRTCP sender reports over multicast', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  it('are sent on port + 1, verified with the right counts, and hostile RTCP changes nothing', async () => {
    const { group, port } = system.programme;
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const rx = await startReceiver(system, viewer);
    const rtcpCapture = await captureGroup(system, port + 1);
    const media = await sampleSlice(300);
    const sent = await sendMedia(system, sender, media, { speed: 4, rtcpIntervalMs: 100 });
    await settle();

    // What went out on port + 1: SRTCP with E=1 and indices 0, 1, 2 ... under the stream's MKIs.
    const reports = rtcpCapture.packets.filter((p) => p.length > 8 && p.readUInt32BE(4) === sent.ssrc);
    expect(reports.length).toBe(sent.progress.reportsSent + 1); // progress is taken before close sends the last
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const parts = reports.map((p) => decodeSrtcp(p, LAYOUT));
    expect(parts.map((d) => d.ok && d.parts.index)).toEqual(reports.map((_, i) => i));
    expect(parts.every((d) => d.ok && d.parts.encrypted)).toBe(true);

    const srtcp = () => structuredClone(rx.receiver.stats.srtcp);
    const before = srtcp();
    expect(before.received).toBe(reports.length);
    // The first reports may come before the receiver holds the first key; every later one verifies.
    expect(before.accepted + (before.rejectedByReason.unknown_key ?? 0)).toBe(reports.length);
    expect(before.rejected).toBe(before.rejectedByReason.unknown_key ?? 0);
    expect(before.accepted).toBeGreaterThanOrEqual(2);
    // The last report is sent at close: its counts are the stream's totals (RTP payload octets = the TS bytes).
    expect(before.lastSenderReport).toMatchObject({
      ssrc: sent.ssrc,
      srtcpIndex: reports.length - 1,
      packetCount: 300,
      octetCount: media.length,
    });
    expect(Math.abs(before.lastSenderReport!.ntpUnixMs - Date.now())).toBeLessThan(60_000);

    // Hostile datagrams on the RTCP port.
    const attacker = dgram.createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    attacker.setMulticastInterface('127.0.0.1');
    attacker.setMulticastTTL(0);
    const last = reports.at(-1)!;
    const hostile: Buffer[] = [
      ...reports.map((p) => Buffer.from(p)), // replays
      ...Array.from({ length: last.length }, (_, i) => {
        const b = Buffer.from(last);
        b[i]! ^= 0x10; // one flipped bit at each position
        return b;
      }),
      Buffer.alloc(3), // too short
      Buffer.concat([Buffer.from([0x40]), last.subarray(1)]), // version 1
    ];
    for (const h of hostile) attacker.send(h, port + 1, group);
    await settle();
    attacker.close();
    await rtcpCapture.close();
    await rx.close();

    const after = srtcp();
    expect(after.received).toBe(before.received + hostile.length);
    expect(after.accepted).toBe(before.accepted);
    expect(after.lastSenderReport).toEqual(before.lastSenderReport);
    const by = after.rejectedByReason;
    const grew = (r: keyof typeof by) => (by[r] ?? 0) - (before.rejectedByReason[r] ?? 0);
    expect(grew('replay')).toBe(before.accepted);
    expect(grew('auth_fail')).toBeGreaterThan(last.length - 10); // flipped bits outside the MKI and PT
    expect(grew('unknown_key')).toBe(4); // a flipped bit in each MKI byte
    expect(grew('too_short')).toBe(1);
    expect(grew('bad_version')).toBe(1);
    expect(after.rejected).toBe(before.rejected + hostile.length);

    // The media never saw any of it.
    const stats = rx.receiver.stats;
    expect(stats.packetsDecrypted).toBe(300);
    expect(stats.packetsRejected).toBe(0);
    expect(rx.output().equals(Buffer.from(media))).toBe(true);
  });

  it('--no-rtcp: a sender with RTCP off sends nothing on port + 1', async () => {
    const sender = await system.enrol('encoder2', 'sender');
    const rtcpCapture = await captureGroup(system, system.programme.port + 1);
    const sent = await sendMedia(system, sender, await sampleSlice(60), { speed: 8, rtcpIntervalMs: 0 });
    await settle();
    await rtcpCapture.close();
    expect(sent.progress.reportsSent).toBe(0);
    expect(rtcpCapture.packets.filter((p) => p.length > 8 && p.readUInt32BE(4) === sent.ssrc)).toEqual([]);
  });
});
