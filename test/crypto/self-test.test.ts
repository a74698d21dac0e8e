import { describe, expect, it } from 'vitest';
import { SRTP_KNOWN_ANSWERS, checkSrtpKnownAnswers, runSrtpSelfTest } from '../../src/crypto/self-test.js';
import type { SrtpKnownAnswers } from '../../src/crypto/self-test.js';
import { B2, B3, LIBSRTP } from './vectors.js';

describe('runSrtpSelfTest', () => {
  it('passes', () => {
    expect(() => runSrtpSelfTest()).not.toThrow();
  });

  it('runs the same vectors as the data files in test/vectors', () => {
    const { note: _n3, ...b3 } = B3;
    expect(SRTP_KNOWN_ANSWERS.keyDerivation).toEqual(b3);
    expect(SRTP_KNOWN_ANSWERS.keystream).toEqual({
      source: B2.source,
      sessionKey: B2.sessionKey,
      sessionSalt: B2.sessionSalt,
      ssrc: B2.ssrc,
      index: B2.index,
      blocks: B2.blocks.map(({ block, keystream }) => ({ block, keystream })),
    });
    expect(SRTP_KNOWN_ANSWERS.packets).toEqual(LIBSRTP.packets);
  });

  it('throws when a keystream block is wrong', () => {
    const bad: SrtpKnownAnswers = {
      ...SRTP_KNOWN_ANSWERS,
      keystream: {
        ...SRTP_KNOWN_ANSWERS.keystream,
        blocks: [{ block: 0xff01, keystream: '6a2cc3787889374fbeb4c81b17ba6c45' }],
      },
    };
    expect(() => checkSrtpKnownAnswers(bad)).toThrow(
      'SRTP self-test failed: RFC 3711 Appendix B.2: keystream block 0xff01 is 6a2cc3787889374fbeb4c81b17ba6c44, expected 6a2cc3787889374fbeb4c81b17ba6c45',
    );
  });

  it('throws when a derived key is wrong', () => {
    const bad: SrtpKnownAnswers = {
      ...SRTP_KNOWN_ANSWERS,
      keyDerivation: { ...SRTP_KNOWN_ANSWERS.keyDerivation, cipherSalt: '30cbbc08863d8c85d49db34a9ae0' },
    };
    expect(() => checkSrtpKnownAnswers(bad)).toThrow(
      'SRTP self-test failed: RFC 3711 Appendix B.3: cipher salt',
    );
  });

  it('throws when a packet vector is wrong', () => {
    const p = SRTP_KNOWN_ANSWERS.packets[0]!;
    const bad: SrtpKnownAnswers = {
      ...SRTP_KNOWN_ANSWERS,
      packets: [{ ...p, srtp: p.srtp.slice(0, -2) + '00' }],
    };
    expect(() => checkSrtpKnownAnswers(bad)).toThrow('AES_CM_128_HMAC_SHA1_80 protect');
  });
});
