import { describe, expect, it } from 'vitest';
import {
  aadContentKeyAtRest,
  aadContentKeyForClient,
  aadContentKeyUnderSegmentKey,
  aadSegmentKeyForClient,
} from '../../src/keys/aad.js';
import { deriveClientWrapKey, deriveRequestMacKey, generateClientKey } from '../../src/keys/client-key.js';
import {
  decodeContentKey,
  encodeContentKey,
  generateContentKey,
  unwrapContentKeyForClient,
  wrapContentKeyForClient,
} from '../../src/keys/content-key.js';
import {
  generateSegmentKey,
  unwrapSegmentKeyForClient,
  wrapSegmentKeyForClient,
} from '../../src/keys/segment-key.js';

describe('key hierarchy', () => {
  it('derives distinct MAC and wrap keys from UK', () => {
    const uk = generateClientKey();
    expect(uk.length).toBe(32);
    expect(deriveRequestMacKey(uk)).not.toEqual(deriveClientWrapKey(uk));
    expect(deriveRequestMacKey(uk)).toEqual(deriveRequestMacKey(uk));
    expect(() => deriveRequestMacKey(new Uint8Array(16))).toThrow(/32 bytes/);
  });

  it('a PSK wrapped for one client opens only for that client, programme, segment and epoch', () => {
    const uk = generateClientKey();
    const psk = generateSegmentKey();
    const ctx = { clientId: 1, programmeId: 2, segment: 3, epoch: 0 };
    const w = wrapSegmentKeyForClient(uk, psk, ctx);
    expect(unwrapSegmentKeyForClient(uk, w, ctx)).toEqual({ ok: true, key: psk });
    for (const other of [{ clientId: 9 }, { programmeId: 9 }, { segment: 4 }, { epoch: 1 }]) {
      expect(unwrapSegmentKeyForClient(uk, w, { ...ctx, ...other })).toEqual({
        ok: false,
        reason: 'auth_fail',
      });
    }
    expect(unwrapSegmentKeyForClient(generateClientKey(), w, ctx)).toEqual({
      ok: false,
      reason: 'auth_fail',
    });
  });

  it('content keys are 16+14 bytes for AES-CM and 16+12 for GCM, and round-trip for the sender', () => {
    const ck = generateContentKey('AES_CM_128_HMAC_SHA1_80');
    expect([ck.masterKey.length, ck.masterSalt.length]).toEqual([16, 14]);
    const gcm = generateContentKey('AEAD_AES_128_GCM');
    expect([gcm.masterKey.length, gcm.masterSalt.length]).toEqual([16, 12]);
    expect(
      decodeContentKey(encodeContentKey(ck, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80'),
    ).toEqual(ck);
    expect(() => encodeContentKey(ck, 'AEAD_AES_128_GCM')).toThrow(/content key/);
    const uk = generateClientKey();
    const w = wrapContentKeyForClient(uk, ck, 'AES_CM_128_HMAC_SHA1_80', 4, 5, 6);
    expect(unwrapContentKeyForClient(uk, w, 'AES_CM_128_HMAC_SHA1_80', 4, 5, 6)).toEqual({
      ok: true,
      key: ck,
    });
    expect(unwrapContentKeyForClient(uk, w, 'AES_CM_128_HMAC_SHA1_80', 4, 5, 7).ok).toBe(false);
  });

  it('AAD strings are exactly as documented in src/keys/aad.ts', () => {
    const s = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(s(aadSegmentKeyForClient(1, 2, 3, 4))).toBe(
      'keycast/v1 psk>client client=1 programme=2 segment=3 epoch=4',
    );
    expect(s(aadContentKeyForClient(1, 2, 3))).toBe('keycast/v1 ck>client client=1 programme=2 key=3');
    expect(s(aadContentKeyUnderSegmentKey(1, 2, 3, 4))).toBe(
      'keycast/v1 ck>psk programme=1 segment=2 epoch=3 key=4',
    );
    expect(s(aadContentKeyAtRest(1, 2))).toBe('keycast/v1 ck>master programme=1 key=2');
    expect(() => aadContentKeyAtRest(-1, 2)).toThrow(/u32/);
  });
});
