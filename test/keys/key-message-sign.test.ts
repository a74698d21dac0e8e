import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { asKeyId, asSsrc } from '../../src/ids.js';
import {
  generateContentKey,
  unwrapContentKeyFromMessage,
  wrapContentKeyUnderSegmentKey,
} from '../../src/keys/content-key.js';
import { signKeyMessage, verifyKeyMessage } from '../../src/keys/key-message-sign.js';
import { generateSegmentKey } from '../../src/keys/segment-key.js';
import type { UnsignedKeyMessage } from '../../src/packet/key-message.js';

const server = generateSigningKeyPair();
const psk0 = generateSegmentKey();
const psk1 = generateSegmentKey();
const ck = generateContentKey('AES_CM_128_HMAC_SHA1_80');
const ctx = { programmeId: 5, epoch: 0, keyId: 9 };

const msg: UnsignedKeyMessage = {
  type: 'content_key',
  programmeId: 5,
  messageSeq: 1,
  issuedAtMs: 1_000,
  keyId: asKeyId(9),
  ssrc: asSsrc(1234),
  roc: 0,
  seq: 100,
  profile: 'AES_CM_128_HMAC_SHA1_80',
  mkiLengthBytes: 4,
  activatesAtMs: 2_000,
  expiresAtMs: 12_000,
  // The next content key under the current and the next segment key (claim 12): several wraps in one message.
  entries: [
    {
      wrapKind: 'psk',
      wrapKeyId: 0,
      epoch: 0,
      wrapped: wrapContentKeyUnderSegmentKey(psk0, ck, 'AES_CM_128_HMAC_SHA1_80', { ...ctx, segment: 0 }),
    },
    {
      wrapKind: 'psk',
      wrapKeyId: 1,
      epoch: 0,
      wrapped: wrapContentKeyUnderSegmentKey(psk1, ck, 'AES_CM_128_HMAC_SHA1_80', { ...ctx, segment: 1 }),
    },
  ],
};

describe('signed key messages', () => {
  it('verifies and yields the content key to holders of either segment key', () => {
    const bytes = signKeyMessage(msg, server.privateKey);
    const v = verifyKeyMessage(bytes, server.publicKey);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    for (const [psk, seg] of [
      [psk0, 0],
      [psk1, 1],
    ] as const) {
      const r = unwrapContentKeyFromMessage(v.msg, psk, seg, 0);
      expect(r).toEqual({ ok: true, key: ck });
    }
    expect(unwrapContentKeyFromMessage(v.msg, psk0, 1, 0)).toEqual({ ok: false, reason: 'auth_fail' });
    expect(unwrapContentKeyFromMessage(v.msg, psk0, 2, 0)).toEqual({ ok: false, reason: 'no_entry' });
  });

  it('rejects a tampered signature, a tampered body and another server key', () => {
    const bytes = signKeyMessage(msg, server.privateKey);
    const sig = bytes.slice();
    sig[sig.length - 1]! ^= 1;
    expect(verifyKeyMessage(sig, server.publicKey)).toEqual({ ok: false, reason: 'bad_signature' });
    const body = bytes.slice();
    body[23]! ^= 1; // keyId
    expect(verifyKeyMessage(body, server.publicKey)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyKeyMessage(bytes, generateSigningKeyPair().publicKey)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyKeyMessage(bytes.subarray(0, 10), server.publicKey)).toMatchObject({
      ok: false,
      reason: 'too_short',
    });
  });

  it('a key id changed and re-signed by someone else still fails: the wrap binds the key id', () => {
    const forger = generateSigningKeyPair();
    const forged = signKeyMessage({ ...msg, keyId: asKeyId(10) }, forger.privateKey);
    const v = verifyKeyMessage(forged, forger.publicKey);
    expect(v.ok).toBe(true);
    if (v.ok)
      expect(unwrapContentKeyFromMessage(v.msg, psk0, 0, 0)).toEqual({ ok: false, reason: 'auth_fail' });
  });
});
