// The receiver admits only key messages signed by the key server, for its programme, fresh and not replayed,
// and counts every other by reason. Repeats from the carousel are duplicates, not errors.
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { asKeyId, asProgrammeId, asSsrc } from '../../src/ids.js';
import { generateContentKey, wrapContentKeyUnderSegmentKey } from '../../src/keys/content-key.js';
import { signKeyMessage } from '../../src/keys/key-message-sign.js';
import { generateSegmentKey } from '../../src/keys/segment-key.js';
import {
  generateServiceKey,
  periodNumber,
  wrapSegmentKeyUnderServiceKey,
} from '../../src/keys/service-key.js';
import type { ContentKeyMessage, SegmentKeyMessage } from '../../src/packet/key-message.js';
import { KeyMessageGate, REPLAY_WINDOW } from '../../src/receiver/key-message-gate.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';

const server = generateSigningKeyPair();
const forger = generateSigningKeyPair();
const psk = generateSegmentKey();
const ck = generateContentKey('AES_CM_128_HMAC_SHA1_80');
const NOW = 1_800_000_000_000;

function message(over: Partial<ContentKeyMessage> = {}): ContentKeyMessage {
  const keyId = over.keyId ?? asKeyId(7);
  return {
    type: 'content_key',
    programmeId: 3,
    messageSeq: 100,
    issuedAtMs: NOW,
    keyId,
    ssrc: asSsrc(0xabcdef),
    roc: 1,
    seq: 12,
    profile: 'AES_CM_128_HMAC_SHA1_80',
    mkiLengthBytes: 4,
    activatesAtMs: NOW + 1000,
    expiresAtMs: NOW + 20_000,
    entries: [
      {
        wrapKind: 'psk',
        wrapKeyId: 2,
        epoch: 0,
        wrapped: wrapContentKeyUnderSegmentKey(psk, ck, 'AES_CM_128_HMAC_SHA1_80', {
          programmeId: 3,
          segment: 2,
          epoch: 0,
          keyId,
        }),
      },
    ],
    ...over,
  };
}

const gate = () => new KeyMessageGate(asProgrammeId(3), keyMessageOpener(server.publicKey), () => NOW);

describe('KeyMessageGate', () => {
  it('accepts a signed message and yields the content key, its SSRC and ROC, under the segment key', () => {
    const g = gate();
    const r = g.accept(signKeyMessage(message(), server.privateKey));
    expect(r.kind).toBe('accepted');
    if (r.kind !== 'accepted') return;
    expect(r.key).toMatchObject({ keyId: 7, ssrc: 0xabcdef, roc: 1, seq: 12, segments: [2] });
    expect(r.key.unwrap(2, psk)).toEqual(ck);
    expect(r.key.unwrap(2, generateSegmentKey())).toBeUndefined();
    expect(g.pending().map((k) => k.keyId)).toEqual([7]);
  });

  it('counts a carousel repeat as a duplicate', () => {
    const g = gate();
    const bytes = signKeyMessage(message(), server.privateKey);
    expect(g.accept(bytes).kind).toBe('accepted');
    expect(g.accept(bytes)).toEqual({ kind: 'duplicate' });
  });

  it('rejects by reason: forged, tampered, truncated, another programme, stale, replayed, conflicting', () => {
    const g = gate();
    const good = signKeyMessage(message(), server.privateKey);
    expect(g.accept(signKeyMessage(message(), forger.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'bad_signature',
    });
    const tampered = Uint8Array.from(good);
    tampered[30]! ^= 1;
    expect(g.accept(tampered)).toEqual({ kind: 'rejected', reason: 'bad_signature' });
    expect(g.accept(good.subarray(0, 10))).toEqual({ kind: 'rejected', reason: 'too_short' });
    expect(g.accept(new Uint8Array(0))).toEqual({ kind: 'rejected', reason: 'too_short' });
    expect(g.accept(signKeyMessage(message({ programmeId: 4 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'wrong_programme',
    });
    expect(g.accept(signKeyMessage(message({ expiresAtMs: NOW - 1 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'stale',
    });
    expect(g.pending()).toEqual([]);
    expect(g.accept(good).kind).toBe('accepted');
    expect(
      g.accept(signKeyMessage(message({ messageSeq: 500, keyId: asKeyId(8) }), server.privateKey)).kind,
    ).toBe('accepted');
    // Within the window, a message never seen is admitted (a carousel repeat after a large multicast burst)...
    expect(
      g.accept(signKeyMessage(message({ messageSeq: 300, keyId: asKeyId(9) }), server.privateKey)).kind,
    ).toBe('accepted');
    const far = 500 + REPLAY_WINDOW + 20;
    expect(
      g.accept(signKeyMessage(message({ messageSeq: far, keyId: asKeyId(10) }), server.privateKey)).kind,
    ).toBe('accepted');
    // ...but far behind the newest sequence and never seen: a replay of an old message.
    expect(g.accept(signKeyMessage(message({ messageSeq: 10 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'replayed',
    });
    // The same sequence number with different content.
    expect(g.accept(signKeyMessage(message({ messageSeq: 500, roc: 9 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'conflict',
    });
  });

  it('never throws on random bytes', () => {
    const g = gate();
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(Math.floor(Math.random() * 300)).map(() =>
        Math.floor(Math.random() * 256),
      );
      if (n % 2 === 0 && bytes.length > 1) bytes[0] = 1; // a plausible version byte
      expect(g.accept(bytes).kind).toBe('rejected');
    }
  });

  it('admits segment_key messages under the same rules, and opens the PSK with the service key', () => {
    const sk = generateServiceKey();
    const seg = (over: Partial<SegmentKeyMessage> = {}): SegmentKeyMessage => ({
      type: 'segment_key',
      programmeId: 3,
      messageSeq: 200,
      issuedAtMs: NOW,
      segment: 2,
      epoch: 0,
      activatesAtMs: NOW,
      expiresAtMs: NOW + 20_000,
      entries: [
        {
          wrapKind: 'service',
          wrapKeyId: 5,
          epoch: periodNumber('2027-01'),
          wrapped: wrapSegmentKeyUnderServiceKey(sk, psk, {
            serviceId: 5,
            period: '2027-01',
            programmeId: 3,
            segment: 2,
            epoch: 0,
          }),
        },
      ],
      ...over,
    });
    const g = gate();
    const good = signKeyMessage(seg(), server.privateKey);
    const r = g.accept(good);
    expect(r.kind).toBe('segment_key');
    if (r.kind !== 'segment_key') return;
    expect(r.segmentKey).toMatchObject({
      segment: 2,
      epoch: 0,
      services: [{ serviceId: 5, period: '2027-01' }],
    });
    expect(r.segmentKey.unwrap(5, '2027-01', sk)).toEqual(psk);
    expect(r.segmentKey.unwrap(5, '2027-01', generateServiceKey())).toBeUndefined();
    expect(r.segmentKey.unwrap(5, '2026-12', sk)).toBeUndefined();
    expect(g.accept(good)).toEqual({ kind: 'duplicate' });
    expect(g.accept(signKeyMessage(seg({ messageSeq: 201 }), forger.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'bad_signature',
    });
    expect(g.accept(signKeyMessage(seg({ messageSeq: 202, programmeId: 4 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'wrong_programme',
    });
    expect(
      g.accept(signKeyMessage(seg({ messageSeq: 203, expiresAtMs: NOW - 1 }), server.privateKey)),
    ).toEqual({
      kind: 'rejected',
      reason: 'stale',
    });
    expect(
      g.accept(signKeyMessage(seg({ messageSeq: 200 + REPLAY_WINDOW + 1 }), server.privateKey)).kind,
    ).toBe('segment_key');
    expect(g.accept(signKeyMessage(seg({ messageSeq: 100 }), server.privateKey))).toEqual({
      kind: 'rejected',
      reason: 'replayed',
    });
    expect(g.pending()).toEqual([]);
  });
});
