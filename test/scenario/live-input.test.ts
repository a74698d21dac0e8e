// Live inputs: the sender takes MPEG-TS as ffmpeg or GStreamer send it, raw over UDP or as RTP/MP2T, and the
// receivers hand on exactly the bytes the sender took in.
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaInput, readMedia } from '../../src/sender/media-source.js';
import { Sender } from '../../src/sender/sender.js';
import { orThrow } from '../../src/server/client.js';
import { skipWithout } from '../helpers/tools.js';
import {
  SAMPLE,
  quietLog,
  sampleSlice,
  startReceiver,
  startSystem,
  type TestClient,
  type TestSystem,
} from '../helpers/system.js';
import { fileURLToPath } from 'node:url';

function freePort(): number {
  return 40_000 + Math.floor(Math.random() * 20_000);
}

async function runLiveSender(system: TestSystem, sender: TestClient, input: string, until: Promise<void>) {
  // Fetched now: a programme already on the air makes a new sender resume after its newest segment.
  const programme = orThrow(await sender.client.getProgramme(system.programme.id)).programme;
  const s = new Sender({
    programme,
    speed: 1,
    paced: false,
    leadMs: 100,
    carouselIntervalMs: 50,
    interfaceAddress: '127.0.0.1',
    ttl: 0,
    log: quietLog,
    issueContentKey: async (req) =>
      orThrow(await sender.client.issueContentKey({ programmeId: system.programme.id, ...req })),
  });
  await s.open();
  const stop = new AbortController();
  void until.then(() => stop.abort());
  try {
    return await s.run(readMedia(parseMediaInput(input), { signal: stop.signal }));
  } finally {
    await s.close();
  }
}

/** Sends `ts` to 127.0.0.1:port in 7-packet datagrams, raw or inside RTP, one every `gapMs`. */
async function feed(ts: Uint8Array, port: number, rtp: boolean, gapMs = 1): Promise<void> {
  const socket = dgram.createSocket('udp4');
  let seq = 1000;
  for (let o = 0; o < ts.length; o += 1316) {
    const payload = ts.subarray(o, o + 1316);
    let datagram: Uint8Array = payload;
    if (rtp) {
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = 33;
      h.writeUInt16BE(seq++ & 0xffff, 2);
      h.writeUInt32BE(o, 4);
      h.writeUInt32BE(0xfeed, 8);
      datagram = Buffer.concat([h, payload]);
    }
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await new Promise((r) => setTimeout(r, 300));
  socket.close();
}

describe('live input', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  for (const kind of ['udp', 'rtp'] as const) {
    it(`${kind}://: what the sender takes in, an entitled receiver hands on byte for byte`, async () => {
      const sender = await system.enrol(`live-${kind}`, 'sender');
      const viewer = await system.enrol(`viewer-${kind}`, 'receiver', 'subscription');
      const rx = await startReceiver(system, viewer);
      const ts = await sampleSlice(300);
      const port = freePort();
      let fed!: () => void;
      const done = new Promise<void>((r) => (fed = r));
      const sending = runLiveSender(system, sender, `${kind}://127.0.0.1:${port}`, done);
      await new Promise((r) => setTimeout(r, 100)); // the input socket is bound
      await feed(ts, port, kind === 'rtp');
      fed();
      const progress = await sending;
      await new Promise((r) => setTimeout(r, 300));
      await rx.close();
      expect(progress.packetsSent).toBe(300);
      expect(progress.keysRotated).toBeGreaterThanOrEqual(1);
      expect(rx.receiver.stats.packetsRejected).toBe(0);
      expect(rx.output().equals(Buffer.from(ts))).toBe(true);
    });
  }

  it.skipIf(skipWithout('ffmpeg', ['-version']))(
    'ffmpeg as a live RTP/MP2T source: the receiver output is what ffmpeg sent',
    async () => {
      const sender = await system.enrol('live-ffmpeg', 'sender');
      const viewer = await system.enrol('viewer-ffmpeg', 'receiver', 'per_segment');
      const rx = await startReceiver(system, viewer);
      // A relay between ffmpeg and the sender keeps a copy of every TS byte ffmpeg sent.
      const relayPort = freePort();
      const senderPort = relayPort + 1;
      const relay = dgram.createSocket('udp4');
      const sent: Buffer[] = [];
      relay.on('message', (m) => {
        sent.push(m.subarray(12));
        relay.send(m, senderPort, '127.0.0.1');
      });
      await new Promise<void>((r) => relay.bind(relayPort, '127.0.0.1', () => r()));
      let finished!: () => void;
      const done = new Promise<void>((r) => (finished = r));
      const sending = runLiveSender(system, sender, `rtp://127.0.0.1:${senderPort}`, done);
      await new Promise((r) => setTimeout(r, 100));
      const ffmpeg = spawn('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-re',
        '-t',
        '3',
        '-i',
        fileURLToPath(SAMPLE),
        '-c',
        'copy',
        '-f',
        'rtp_mpegts',
        `rtp://127.0.0.1:${relayPort}?pkt_size=1328`,
      ]);
      const code = await new Promise<number | null>((r) => ffmpeg.on('exit', r));
      expect(code).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      finished();
      const progress = await sending;
      await new Promise((r) => setTimeout(r, 300));
      relay.close();
      await rx.close();
      expect(progress.packetsSent).toBeGreaterThan(100);
      const expected = Buffer.concat(sent);
      expect(expected.length % 188).toBe(0);
      expect(rx.output().equals(expected)).toBe(true);
    },
  );
});
