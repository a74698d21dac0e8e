// Known-answer self-test for the SRTP stack, run by the key server and the sender at start-up:
// they refuse to start when a vector fails (STYLE.md "Crypto"). The same vectors live as data in
// test/vectors/, and a test checks that the two copies agree.

import {
  checkKeyDerivation,
  checkKeystream,
  expectEqual,
  fail,
  hex,
  type AesCmKeyDerivationVector,
  type AesCmKeystreamVector,
} from './known-answer.js';
import { srtpProfile } from './srtp-profiles.js';
import { SUITE_KNOWN_ANSWERS, checkSuiteKnownAnswers } from './suite-self-test.js';

export type SrtpKeyDerivationVector = AesCmKeyDerivationVector;
export type SrtpKeystreamVector = AesCmKeystreamVector;

export interface SrtpPacketVector {
  readonly source: string;
  readonly profile: string;
  readonly masterKey: string;
  readonly masterSalt: string;
  readonly index: number;
  readonly headerLengthBytes: number;
  readonly rtp: string;
  /** Header, ciphertext and tag (MKI length 0). */
  readonly srtp: string;
}

export interface SrtpKnownAnswers {
  readonly keyDerivation: SrtpKeyDerivationVector;
  readonly keystream: SrtpKeystreamVector;
  readonly packets: readonly SrtpPacketVector[];
}

/** RFC 3711 Appendix B.3, B.2, and the libsrtp reference packet (test/srtp_driver.c, srtp_validate). */
export const SRTP_KNOWN_ANSWERS: SrtpKnownAnswers = {
  keyDerivation: {
    source: 'RFC 3711 Appendix B.3',
    masterKey: 'e1f97a0d3e018be0d64fa32c06de4139',
    masterSalt: '0ec675ad498afeebb6960b3aabe6',
    cipherKey: 'c61e7a93744f39ee10734afe3ff7a087',
    cipherSalt: '30cbbc08863d8c85d49db34a9ae1',
    authKey:
      'cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbcee049646c43d9327ad175578ef7227098' +
      '6371c10c9a369ac2f94a8c5fbcdddc256d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2',
  },
  keystream: {
    source: 'RFC 3711 Appendix B.2',
    sessionKey: '2b7e151628aed2a6abf7158809cf4f3c',
    sessionSalt: 'f0f1f2f3f4f5f6f7f8f9fafbfcfd',
    ssrc: 0,
    index: 0,
    blocks: [
      { block: 0x0000, keystream: 'e03ead0935c95e80e166b16dd92b4eb4' },
      { block: 0x0001, keystream: 'd23513162b02d0f72a43a2fe4a5f97ab' },
      { block: 0x0002, keystream: '41e95b3bb0a2e8dd477901e4fca894c0' },
      { block: 0xfeff, keystream: 'ec8cdf7398607cb0f2d21675ea9ea1e4' },
      { block: 0xff00, keystream: '362b7c3c6773516318a077d7fc5073ae' },
      { block: 0xff01, keystream: '6a2cc3787889374fbeb4c81b17ba6c44' },
    ],
  },
  packets: [
    {
      source: 'libsrtp test/srtp_driver.c srtp_validate (key and salt of RFC 3711 Appendix B.3)',
      profile: 'AES_CM_128_HMAC_SHA1_80',
      masterKey: 'e1f97a0d3e018be0d64fa32c06de4139',
      masterSalt: '0ec675ad498afeebb6960b3aabe6',
      index: 0x1234,
      headerLengthBytes: 12,
      rtp: '800f1234decafbadcafebabeabababababababababababababababab',
      srtp: '800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb',
    },
    {
      source: 'libsrtp srtp_validate with the tag cut to its leftmost 32 bits (RFC 3711 §4.2, RFC 4568 §6.2)',
      profile: 'AES_CM_128_HMAC_SHA1_32',
      masterKey: 'e1f97a0d3e018be0d64fa32c06de4139',
      masterSalt: '0ec675ad498afeebb6960b3aabe6',
      index: 0x1234,
      headerLengthBytes: 12,
      rtp: '800f1234decafbadcafebabeabababababababababababababababab',
      srtp: '800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc',
    },
  ],
};

/** Runs the built-in known answers of every suite; throws `SRTP self-test failed: ...` if any differs. */
export function runSrtpSelfTest(): void {
  checkSrtpKnownAnswers(SRTP_KNOWN_ANSWERS);
  checkSuiteKnownAnswers(SUITE_KNOWN_ANSWERS); // RFC 6188 AES-256-CM, RFC 7714 AES-GCM
}

/** Runs the given known answers; throws `SRTP self-test failed: <source>: <what>` on the first mismatch. */
export function checkSrtpKnownAnswers(vectors: SrtpKnownAnswers): void {
  // The AES_CM_128 lengths: 128-bit cipher key, 112-bit salt.
  checkKeyDerivation(vectors.keyDerivation, 16, 14);
  checkKeystream(vectors.keystream);

  for (const p of vectors.packets) {
    const profile = srtpProfile(p.profile);
    const transform = profile.createTransform(hex(p.masterKey), hex(p.masterSalt));
    try {
      const rtp = hex(p.rtp);
      const ssrc = new DataView(rtp.buffer, rtp.byteOffset, rtp.byteLength).getUint32(8);
      const out = new Uint8Array(rtp.byteLength + transform.cipherOverheadBytes + transform.authTagBytes);
      const authenticatedBytes = rtp.byteLength + transform.cipherOverheadBytes;
      transform.protect(
        rtp,
        p.headerLengthBytes,
        ssrc,
        p.index,
        out.subarray(0, authenticatedBytes),
        out.subarray(authenticatedBytes),
      );
      expectEqual(p.source, `${p.profile} protect`, out, p.srtp);
      const back = new Uint8Array(rtp.byteLength);
      const ok = transform.unprotect(
        out.subarray(0, authenticatedBytes),
        p.headerLengthBytes,
        ssrc,
        p.index,
        out.subarray(authenticatedBytes),
        back,
      );
      if (!ok) fail(p.source, `${p.profile} unprotect rejected the vector`);
      expectEqual(p.source, `${p.profile} unprotect`, back, p.rtp);
      out[authenticatedBytes - 1]! ^= 1;
      if (
        transform.unprotect(
          out.subarray(0, authenticatedBytes),
          p.headerLengthBytes,
          ssrc,
          p.index,
          out.subarray(authenticatedBytes),
          back,
        )
      ) {
        fail(p.source, `${p.profile} unprotect accepted a modified packet`);
      }
    } finally {
      transform.zeroize();
    }
  }
}
