// AES_256_CM_HMAC_SHA1_80 (RFC 6188): the §7.1 keystream and §7.2 key derivation byte for byte, and a packet
// checked against AES-256-CTR and HMAC-SHA1 computed here from the RFC's derived keys.
import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AES_BLOCK_BYTES,
  LABEL_RTP_AUTHENTICATION,
  LABEL_RTP_ENCRYPTION,
  LABEL_RTP_SALT,
  aesCmKeystream,
  deriveSrtpSessionKey,
  writeAesCmIv,
} from '../../src/crypto/aes-cm.js';
import { SRTP_PROFILES } from '../../src/crypto/srtp-profiles.js';
import { SUITE_KNOWN_ANSWERS, checkSuiteKnownAnswers } from '../../src/crypto/suite-self-test.js';
import { hex, toHex } from '../srtp/helpers.js';
import { RFC6188 } from './vectors.js';

describe('RFC 6188 vectors', () => {
  it('the data file and the start-up self-test hold the same vectors', () => {
    expect(SUITE_KNOWN_ANSWERS.aes256KeyDerivation).toEqual(RFC6188.keyDerivation);
    expect(SUITE_KNOWN_ANSWERS.aes256Keystream).toEqual(RFC6188.keystream);
  });

  it('§7.1: the AES-256-CM keystream, first and last three blocks of 65282', () => {
    const ks = RFC6188.keystream;
    const iv = new Uint8Array(AES_BLOCK_BYTES);
    writeAesCmIv(hex(ks.sessionSalt), ks.ssrc, ks.index, iv);
    const stream = aesCmKeystream(hex(ks.sessionKey), iv, 0xff02 * AES_BLOCK_BYTES);
    for (const { block, keystream } of ks.blocks) {
      expect(toHex(stream.subarray(block * 16, block * 16 + 16)), `block ${block}`).toBe(keystream);
    }
  });

  it('§7.2: the AES-256 key derivation', () => {
    const kd = RFC6188.keyDerivation;
    const [mk, ms] = [hex(kd.masterKey), hex(kd.masterSalt)];
    expect(toHex(deriveSrtpSessionKey(mk, ms, LABEL_RTP_ENCRYPTION, 32))).toBe(kd.cipherKey);
    expect(toHex(deriveSrtpSessionKey(mk, ms, LABEL_RTP_SALT, 14))).toBe(kd.cipherSalt);
    expect(toHex(deriveSrtpSessionKey(mk, ms, LABEL_RTP_AUTHENTICATION, 20))).toBe(kd.authKey);
  });

  it('the self-test fails on a wrong AES-256 vector', () => {
    const bad = {
      ...SUITE_KNOWN_ANSWERS,
      aes256KeyDerivation: {
        ...SUITE_KNOWN_ANSWERS.aes256KeyDerivation,
        cipherSalt: 'fa31791685ca444a9e07c6c64e94',
      },
    };
    expect(() => checkSuiteKnownAnswers(bad)).toThrow('SRTP self-test failed: RFC 6188 §7.2: cipher salt is');
  });
});

describe('AES_256_CM_HMAC_SHA1_80 profile', () => {
  const p = SRTP_PROFILES.AES_256_CM_HMAC_SHA1_80;

  it('declares the sizes of RFC 6188, and SRTCP with the same cipher and an 80-bit tag', () => {
    expect(p).toMatchObject({
      masterKeyBytes: 32,
      masterSaltBytes: 14,
      authTagBytes: 10,
      cipherOverheadBytes: 0,
      maxPacketsPerKey: 2 ** 48,
    });
    const srtcp = p.createSrtcpTransform(new Uint8Array(32), new Uint8Array(14));
    expect({ tag: srtcp.authTagBytes, overhead: srtcp.cipherOverheadBytes }).toEqual({
      tag: 10,
      overhead: 0,
    });
    srtcp.zeroize();
    expect(() => p.createTransform(new Uint8Array(16), new Uint8Array(14))).toThrow(
      'AES_256_CM_HMAC_SHA1_80: masterKey must be 32 bytes, got 16',
    );
  });

  it('protects a packet as AES-256-CTR and HMAC-SHA1-80 under the §7.2 session keys', () => {
    const kd = RFC6188.keyDerivation;
    const t = p.createTransform(hex(kd.masterKey), hex(kd.masterSalt));
    const rtp = hex('800f1234decafbadcafebabeabababababababababababababababab');
    const [ssrc, index] = [0xcafebabe, 0x2_1234];
    const out = new Uint8Array(rtp.length + 10);
    t.protect(rtp, 12, ssrc, index, out.subarray(0, rtp.length), out.subarray(rtp.length));

    // The expected bytes from node:crypto and the RFC's derived keys alone: IV per RFC 3711 §4.1.1.
    const iv = hex(kd.cipherSalt + '0000');
    const ivView = new DataView(iv.buffer);
    ivView.setUint32(4, (ivView.getUint32(4) ^ ssrc) >>> 0);
    ivView.setUint16(8, ivView.getUint16(8) ^ 0); // index bits 47..32
    ivView.setUint32(10, (ivView.getUint32(10) ^ index) >>> 0);
    const body = createCipheriv('aes-256-ctr', hex(kd.cipherKey), iv).update(rtp.subarray(12));
    const authenticated = Buffer.concat([rtp.subarray(0, 12), body]);
    const roc = Buffer.from([0, 0, 0, 2]);
    const tag = createHmac('sha1', hex(kd.authKey))
      .update(authenticated)
      .update(roc)
      .digest()
      .subarray(0, 10);
    expect(toHex(out)).toBe(toHex(Buffer.concat([authenticated, tag])));

    const back = new Uint8Array(rtp.length);
    expect(t.unprotect(out.subarray(0, rtp.length), 12, ssrc, index, out.subarray(rtp.length), back)).toBe(
      true,
    );
    expect(toHex(back)).toBe(toHex(rtp));
    out[20]! ^= 1;
    expect(t.unprotect(out.subarray(0, rtp.length), 12, ssrc, index, out.subarray(rtp.length), back)).toBe(
      false,
    );
  });
});
