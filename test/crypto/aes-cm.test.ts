import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LABEL_RTP_AUTHENTICATION,
  LABEL_RTP_ENCRYPTION,
  LABEL_RTP_SALT,
  aesCmKeystream,
  deriveSrtpSessionKey,
  writeAesCmIv,
} from '../../src/crypto/aes-cm.js';
import { hex, toHex } from '../srtp/helpers.js';
import { B2, B3 } from './vectors.js';

describe('RFC 3711 Appendix B.3: key derivation (AES-CM PRF, kdr 0)', () => {
  const key = hex(B3.masterKey);
  const salt = hex(B3.masterSalt);

  it('derives the session encryption key (label 0x00)', () => {
    expect(toHex(deriveSrtpSessionKey(key, salt, LABEL_RTP_ENCRYPTION, 16))).toBe(B3.cipherKey);
  });

  it('derives the session salt (label 0x02)', () => {
    expect(toHex(deriveSrtpSessionKey(key, salt, LABEL_RTP_SALT, 14))).toBe(B3.cipherSalt);
  });

  it('derives the 94-byte authentication key sequence (label 0x01)', () => {
    expect(toHex(deriveSrtpSessionKey(key, salt, LABEL_RTP_AUTHENTICATION, 94))).toBe(B3.authKey);
  });

  it('throws on a salt that is not 14 bytes', () => {
    expect(() => deriveSrtpSessionKey(key, new Uint8Array(12), 0, 16)).toThrow(
      'AES-CM PRF: master salt must be 14 bytes, got 12',
    );
  });
});

describe('RFC 3711 Appendix B.2: AES-CM keystream', () => {
  it('forms the IV F0F1...FD0000 from salt, SSRC 0 and index 0', () => {
    const iv = new Uint8Array(16);
    writeAesCmIv(hex(B2.sessionSalt), B2.ssrc, B2.index, iv);
    expect(toHex(iv)).toBe(B2.iv);
  });

  it('produces the first three and the last three keystream blocks', () => {
    const stream = aesCmKeystream(hex(B2.sessionKey), hex(B2.iv), 0xff02 * 16);
    for (const { block, keystream } of B2.blocks) {
      expect(toHex(stream.subarray(block * 16, block * 16 + 16)), `block ${block}`).toBe(keystream);
    }
  });

  it('refuses more than 2^16 blocks from one IV', () => {
    expect(() => aesCmKeystream(hex(B2.sessionKey), hex(B2.iv), 2 ** 20 + 1)).toThrow(
      'AES-CM keystream length must be 0..1048576, got 1048577',
    );
  });
});

describe('the packet IV (RFC 3711 §4.1.1) with the full 48-bit index', () => {
  const reference = (salt: Uint8Array, ssrc: number, index: number): string => {
    const s = BigInt('0x' + toHex(salt));
    const iv = (s << 16n) ^ (BigInt(ssrc) << 64n) ^ (BigInt(index) << 16n);
    return iv.toString(16).padStart(32, '0');
  };

  it('puts index 2^48 - 1 and SSRC 0xffffffff where the RFC says', () => {
    const iv = new Uint8Array(16);
    writeAesCmIv(new Uint8Array(14), 0xffffffff, 2 ** 48 - 1, iv);
    expect(toHex(iv)).toBe('00000000ffffffffffffffffffff0000');
  });

  it('matches BigInt arithmetic for any salt, SSRC and index', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 14, maxLength: 14 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (salt, ssrc, index) => {
          const iv = new Uint8Array(16);
          writeAesCmIv(salt, ssrc, index, iv);
          expect(toHex(iv)).toBe(reference(salt, ssrc, index));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
