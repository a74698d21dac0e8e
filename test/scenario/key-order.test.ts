// Key messages may arrive in any order (loss, carousel timing, a late join): the receiver starts the stream's
// SRTP index from the earliest key's first packet, so no genuine packet is mistaken for a replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKeyMessage } from '../../src/packet/key-message.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { Receiver } from '../../src/receiver/receiver.js';
import {
  captureGroup,
  quietLog,
  sampleSlice,
  sendMedia,
  startSystem,
  type TestClient,
  type TestSystem,
} from '../helpers/system.js';

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function receiverFor(system: TestSystem, viewer: TestClient) {
  const out: Buffer[] = [];
  const receiver = new Receiver({
    programme: system.programme,
    interfaceAddress: '127.0.0.1',
    log: quietLog,
    sinks: [{ write: (_p, payload) => void out.push(Buffer.from(payload)), close: () => Promise.resolve() }],
    openKeyMessage: keyMessageOpener(viewer.credentials.serverPublicKey),
    fetchSegmentKey: async (segment) => {
      const r = await viewer.client.requestSegmentKey(system.programme.id, segment);
      return r.ok ? { ok: true, key: r.segmentKey } : { ok: false, code: r.code, retryable: r.retryable };
    },
  });
  return { receiver, output: () => Buffer.concat(out) };
}

describe('key messages out of order', () => {
  let system: TestSystem;
  let media: Uint8Array;
  let packets: Buffer[];
  let keyMessages: Map<number, Buffer>;
  let viewer: TestClient;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
    const sender = await system.enrol('encoder', 'sender');
    viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const mediaCapture = await captureGroup(system);
    const keyCapture = await captureGroup(system, system.programme.keyPort);
    media = await sampleSlice(400);
    await sendMedia(system, sender, media, { speed: 8 });
    await new Promise((r) => setTimeout(r, 100));
    await mediaCapture.close();
    await keyCapture.close();
    packets = mediaCapture.packets;
    keyMessages = new Map();
    for (const k of keyCapture.packets) {
      const d = decodeKeyMessage(k);
      if (d.ok && d.msg.type === 'content_key') keyMessages.set(d.msg.keyId, k);
    }
  });
  afterAll(async () => system.close());

  it('every key announced before the media, newest first: all packets decrypt, none is a replay', async () => {
    expect(packets).toHaveLength(400);
    expect(keyMessages.size).toBeGreaterThanOrEqual(4);
    const rx = receiverFor(system, viewer);
    const ids = [...keyMessages.keys()].sort((a, b) => b - a);
    for (const id of ids) rx.receiver.onKeyDatagram(keyMessages.get(id)!);
    await until(() => rx.receiver.stats.keysInstalled === ids.length);
    for (const p of packets) rx.receiver.onMediaDatagram(p);
    await rx.receiver.close();
    expect(rx.receiver.stats.rejectedByReason).toEqual({});
    expect(rx.output().equals(Buffer.from(media))).toBe(true);
  });

  it("the first key's message after the second key and the first packets: the waiting packets decrypt in order", async () => {
    const rx = receiverFor(system, viewer);
    const ids = [...keyMessages.keys()].sort((a, b) => a - b);
    rx.receiver.onKeyDatagram(keyMessages.get(ids[1]!)!);
    await until(() => rx.receiver.stats.keysInstalled === 1);
    for (const p of packets.slice(0, 20)) rx.receiver.onMediaDatagram(p); // under the first key: they wait
    expect(rx.receiver.stats.packetsDecrypted).toBe(0);
    rx.receiver.onKeyDatagram(keyMessages.get(ids[0]!)!);
    await until(() => rx.receiver.stats.packetsDecrypted === 20);
    for (const id of ids.slice(2)) rx.receiver.onKeyDatagram(keyMessages.get(id)!);
    await until(() => rx.receiver.stats.keysInstalled === ids.length);
    for (const p of packets.slice(20)) rx.receiver.onMediaDatagram(p);
    await rx.receiver.close();
    expect(rx.receiver.stats.rejectedByReason).toEqual({});
    expect(rx.output().equals(Buffer.from(media))).toBe(true);
  });
});
