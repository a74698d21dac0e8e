// Claim 9 end to end on loopback: a subscriber that bought its subscription through the API gets every programme
// segment key from the multicast, wrapped under the service key, and decrypts the whole programme without a single
// segment-key request. A per-segment buyer on the same multicast still asks segment by segment, and a client with
// neither decrypts nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodOf } from '../../src/keys/service-key.js';
import { orThrow } from '../../src/server/client.js';
import { sampleSlice, sendMedia, startReceiver, startSystem, type TestSystem } from '../helpers/system.js';

describe('segment keys multicast under the service key', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  it('claims 9, 10, 11: a subscriber that bought through the API (service key under its client key) decrypts it all with zero segment-key requests', async () => {
    const period = periodOf(Date.now());
    const sender = await system.enrol('encoder', 'sender');
    const subscriber = await system.enrol('subscriber', 'receiver');
    const fetcher = await system.enrol('fetcher', 'receiver');
    const buyer = await system.enrol('buyer', 'receiver', 'per_segment');
    const outsider = await system.enrol('outsider', 'receiver');
    // Subscriptions bought through the API (claim 10): the answer is the service key under the client key.
    const bought = orThrow(await subscriber.client.purchaseSubscription(system.serviceId, period));
    orThrow(await fetcher.client.purchaseSubscription(system.serviceId, period));

    const rxSub = await startReceiver(system, subscriber, 3000, {
      serviceKeys: [{ serviceId: system.serviceId, period, key: bought.serviceKey }],
      fetchServiceKeys: true,
    });
    // A subscriber that did not keep its key asks for it once at start, and no more.
    const rxFetch = await startReceiver(system, fetcher, 3000, { fetchServiceKeys: true });
    const rxBuyer = await startReceiver(system, buyer, 3000, { fetchServiceKeys: true });
    const rxOut = await startReceiver(system, outsider, 3000, { fetchServiceKeys: true });
    expect(rxSub.receiver.subscriber && rxFetch.receiver.subscriber).toBe(true);
    expect(rxBuyer.receiver.subscriber || rxOut.receiver.subscriber).toBe(false);

    const media = await sampleSlice(500); // ≈ 5.5 s of media: 6 crypto periods, 3 segments
    const { progress } = await sendMedia(system, sender, media, { speed: 4 });
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([rxSub.close(), rxFetch.close(), rxBuyer.close(), rxOut.close()]);

    expect(progress.segment).toBeGreaterThanOrEqual(2);
    const segments = progress.segment + 1;
    for (const rx of [rxSub, rxFetch]) {
      expect(rx.output().equals(Buffer.from(media))).toBe(true);
      expect(rx.receiver.stats.segmentKeyRequests).toBe(0);
      expect(rx.receiver.stats.segmentKeysFromMulticast).toBe(segments);
      expect(rx.receiver.stats.packetsRejected).toBe(0);
    }
    expect(rxSub.receiver.stats.keyRequests).toBe(0);
    expect(rxFetch.receiver.stats.keyRequests).toBe(1);
    // The per-segment buyer is refused the service key and asks segment by segment, as before.
    expect(rxBuyer.output().equals(Buffer.from(media))).toBe(true);
    expect(rxBuyer.receiver.stats.serviceKeyRefusals).toEqual([{ period, code: 'not_entitled' }]);
    expect(rxBuyer.receiver.stats.segmentKeyRequests).toBe(segments);
    expect(rxBuyer.receiver.stats.segmentKeysFromMulticast).toBe(0);
    expect(rxOut.receiver.stats.packetsDecrypted).toBe(0);

    // The key server's log: no segment_key record for either subscriber.
    const log = await system.store.transact((tx) => tx.log.range(1, 10_000));
    const ids = [subscriber.credentials.clientId, fetcher.credentials.clientId];
    expect(log.filter((r) => r.event === 'segment_key' && ids.includes(r.clientId!))).toEqual([]);
    expect(
      log.filter((r) => r.event === 'service_key' && r.outcome === 'delivered').map((r) => r.clientId),
    ).toEqual([fetcher.credentials.clientId]);
  });

  it('a receiver holding a service key still gets a programme sold per segment only, by asking after a short wait', async () => {
    const perSegment = await startSystem({
      cryptoPeriodMs: 1000,
      segmentLengthMs: 2000,
      pricing: 'per_segment',
    });
    try {
      const period = periodOf(Date.now());
      const sender = await perSegment.enrol('encoder', 'sender');
      const both = await perSegment.enrol('both', 'receiver', 'per_segment');
      const sk = orThrow(await both.client.purchaseSubscription(perSegment.serviceId, period)).serviceKey;
      const rx = await startReceiver(perSegment, both, 3000, {
        serviceKeys: [{ serviceId: perSegment.serviceId, period, key: sk }],
      });
      expect(rx.receiver.subscriber).toBe(true);
      const media = await sampleSlice(300);
      const { progress } = await sendMedia(perSegment, sender, media, { speed: 4 });
      await new Promise((r) => setTimeout(r, 2000)); // the last segment's packets wait 1 s, then it asks
      await rx.close();
      // No segment_key messages for this programme: the receiver fell back to asking, once per segment.
      expect(rx.receiver.stats.segmentKeysFromMulticast).toBe(0);
      expect(rx.receiver.stats.segmentKeyRequests).toBe(progress.segment + 1);
      expect(rx.receiver.stats.packetsRejected).toBe(0);
      expect(rx.output().equals(Buffer.from(media))).toBe(true);
    } finally {
      await perSegment.close();
    }
  });
});
