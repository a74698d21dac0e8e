// A subscriber's service keys across a period change: with the current month's SK it takes segment keys from
// segment_key messages and never asks for one; when the messages start to carry the next month's copy it asks for
// that SK once, ahead of the change, and stays a subscriber after it. No sockets: datagrams are handed in directly.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { signKeyMessage } from '../../src/keys/key-message-sign.js';
import { generateSegmentKey } from '../../src/keys/segment-key.js';
import {
  generateServiceKey,
  periodNumber,
  wrapSegmentKeyUnderServiceKey,
} from '../../src/keys/service-key.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { Receiver } from '../../src/receiver/receiver.js';
import type { ProgrammeInfo } from '../../src/server/client.js';

const server = generateSigningKeyPair();
const programme: ProgrammeInfo = {
  id: 3,
  serviceId: 5,
  name: 'p',
  group: '239.255.9.9',
  port: 30_000,
  keyPort: 30_002,
  profile: 'AES_CM_128_HMAC_SHA1_80',
  mkiLengthBytes: 4,
  segmentLengthMs: 2000,
  cryptoPeriodMs: 1000,
  pricing: 'both',
  latestSegment: null,
};

describe('a subscriber across a period change', () => {
  it('asks for the next month’s service key once, ahead of the change, and never for a segment key', async () => {
    const clock = { now: Date.UTC(2026, 11, 31, 23, 59) };
    const skDec = generateServiceKey();
    const skJan = generateServiceKey();
    const fetched: string[] = [];
    let segmentRequests = 0;
    const rx = new Receiver({
      programme,
      interfaceAddress: '127.0.0.1',
      sinks: [],
      log: pino({ level: 'silent' }),
      now: () => clock.now,
      openKeyMessage: keyMessageOpener(server.publicKey),
      fetchSegmentKey: () => {
        segmentRequests++;
        return Promise.resolve({ ok: false, code: 'not_entitled', retryable: false });
      },
      serviceKeys: [{ serviceId: 5, period: '2026-12', key: skDec }],
      fetchServiceKey: (serviceId, period) => {
        fetched.push(`${serviceId}/${period}`);
        return Promise.resolve({ ok: true, key: skJan });
      },
    });
    expect(rx.subscriber).toBe(true);
    const message = (segment: number, seq: number) => {
      const psk = generateSegmentKey();
      const ctx = { serviceId: 5, programmeId: 3, segment, epoch: 0 };
      return signKeyMessage(
        {
          type: 'segment_key',
          programmeId: 3,
          messageSeq: seq,
          issuedAtMs: clock.now,
          segment,
          epoch: 0,
          activatesAtMs: clock.now,
          expiresAtMs: clock.now + 600_000,
          entries: [
            {
              wrapKind: 'service',
              wrapKeyId: 5,
              epoch: periodNumber('2026-12'),
              wrapped: wrapSegmentKeyUnderServiceKey(skDec, psk, { ...ctx, period: '2026-12' }),
            },
            {
              wrapKind: 'service',
              wrapKeyId: 5,
              epoch: periodNumber('2027-01'),
              wrapped: wrapSegmentKeyUnderServiceKey(skJan, psk, { ...ctx, period: '2027-01' }),
            },
          ],
        },
        server.privateKey,
      );
    };
    rx.onKeyDatagram(message(0, 1));
    rx.onKeyDatagram(message(0, 2));
    await new Promise((r) => setTimeout(r, 10));
    expect(rx.stats.segmentKeysFromMulticast).toBe(1);
    expect(fetched).toEqual(['5/2027-01']); // once, though two messages carried it
    expect(rx.stats.serviceKeyRequests).toBe(1);

    clock.now = Date.UTC(2027, 0, 1, 0, 1); // the new month: still a subscriber, with January's key
    expect(rx.subscriber).toBe(true);
    rx.onKeyDatagram(message(1, 3));
    expect(rx.stats.segmentKeysFromMulticast).toBe(2);
    expect(segmentRequests).toBe(0);
    expect(rx.stats.keyRequests).toBe(1);
    await rx.close();
  });
});
