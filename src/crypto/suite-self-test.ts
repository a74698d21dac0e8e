// Known answers for the suites beyond AES_CM_128 (RFC 6188 AES-256-CM, RFC 7714 AES-GCM), run by runSrtpSelfTest
// at start-up next to the RFC 3711 ones. The same vectors live as data in test/vectors/rfc6188-aes-256-cm.json and
// test/vectors/rfc7714-aead-aes-gcm.json, and a test checks that the copies agree.

import { AeadAesGcmSrtcpTransform, AeadAesGcmTransform } from './aead-aes-gcm.js';
import { GCM_TAG_BYTES } from './aes-gcm.js';
import {
  checkKeyDerivation,
  checkKeystream,
  expectEqual,
  fail,
  hex,
  type AesCmKeyDerivationVector,
  type AesCmKeystreamVector,
} from './known-answer.js';
import { SRTCP_INDEX_WORD_BYTES } from './srtcp-transform.js';

export type { AesCmKeyDerivationVector, AesCmKeystreamVector } from './known-answer.js';

/** An RFC 7714 SRTP packet protected with the session key and salt the RFC gives (MKI length 0). */
export interface GcmSrtpVector {
  readonly source: string;
  readonly profile: string;
  readonly sessionKey: string;
  readonly sessionSalt: string;
  readonly ssrc: number;
  readonly index: number;
  readonly headerLengthBytes: number;
  readonly iv: string;
  readonly rtp: string;
  /** header | ciphertext | AEAD tag */
  readonly srtp: string;
}

/** An RFC 7714 SRTCP packet (MKI length 0). */
export interface GcmSrtcpVector {
  readonly source: string;
  readonly profile: string;
  readonly sessionKey: string;
  readonly sessionSalt: string;
  readonly ssrc: number;
  readonly index: number;
  readonly encrypt: boolean;
  readonly iv: string;
  readonly rtcp: string;
  /** header | ciphertext (or the clear rest) | AEAD tag | E‖index */
  readonly srtcp: string;
}

export interface SuiteKnownAnswers {
  readonly aes256KeyDerivation: AesCmKeyDerivationVector;
  readonly aes256Keystream: AesCmKeystreamVector;
  readonly gcmSrtp: readonly GcmSrtpVector[];
  readonly gcmSrtcp: readonly GcmSrtcpVector[];
}

const RFC_7714_KEY_128 = '000102030405060708090a0b0c0d0e0f';
const RFC_7714_KEY_256 = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const RFC_7714_SALT = '517569642070726f2071756f'; // "Quid pro quo"
const RFC_7714_RTP =
  '8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573';
const RFC_7714_RTCP =
  '81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef';

function gcmSrtp(source: string, profile: string, sessionKey: string, srtp: string): GcmSrtpVector {
  return {
    source,
    profile,
    sessionKey,
    sessionSalt: RFC_7714_SALT,
    ssrc: 0x5501a0b2,
    index: 0xf17b,
    headerLengthBytes: 12,
    iv: '51753c6580c2726f20718414',
    rtp: RFC_7714_RTP,
    srtp,
  };
}

function gcmSrtcp(
  source: string,
  profile: string,
  sessionKey: string,
  encrypt: boolean,
  srtcp: string,
): GcmSrtcpVector {
  return {
    source,
    profile,
    sessionKey,
    sessionSalt: RFC_7714_SALT,
    ssrc: 0x4d617273,
    index: 0x5d4,
    encrypt,
    iv: '517524055203726f207170bb',
    rtcp: RFC_7714_RTCP,
    srtcp,
  };
}

/** RFC 6188 §7.1–7.2 and RFC 7714 §16–17. */
export const SUITE_KNOWN_ANSWERS: SuiteKnownAnswers = {
  aes256KeyDerivation: {
    source: 'RFC 6188 §7.2',
    masterKey: 'f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6',
    masterSalt: '3b04803de51ee7c96423ab5b78d2',
    cipherKey: '5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4',
    cipherSalt: 'fa31791685ca444a9e07c6c64e93',
    authKey: 'fd9c32d39ed5fbb5a9dc96b30818454d1313dc05',
  },
  aes256Keystream: {
    source: 'RFC 6188 §7.1',
    sessionKey: '57f82fe3613fd170a85ec93c40b1f0922ec4cb0dc025b58272147cc438944a98',
    sessionSalt: 'f0f1f2f3f4f5f6f7f8f9fafbfcfd',
    ssrc: 0,
    index: 0,
    blocks: [
      { block: 0, keystream: '92bdd28a93c3f52511c677d08b5515a4' },
      { block: 1, keystream: '9da71b2378a854f67050756ded165bac' },
      { block: 2, keystream: '63c4868b7096d88421b563b8c94c9a31' },
      { block: 0xfeff, keystream: 'cea518c90fd91ced9cbb18c078a54711' },
      { block: 0xff00, keystream: '3dbc4814f4da5f00a08772b63c6a046d' },
      { block: 0xff01, keystream: '6eb246913062a16891433e97dd01a57f' },
    ],
  },
  gcmSrtp: [
    gcmSrtp(
      'RFC 7714 §16, SRTP AEAD_AES_128_GCM encryption and decryption',
      'AEAD_AES_128_GCM',
      RFC_7714_KEY_128,
      '8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce',
    ),
    gcmSrtp(
      'RFC 7714 §17, SRTP AEAD_AES_256_GCM encryption and decryption',
      'AEAD_AES_256_GCM',
      RFC_7714_KEY_256,
      '8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13',
    ),
  ],
  gcmSrtcp: [
    gcmSrtcp(
      'RFC 7714 §16, SRTCP AEAD_AES_128_GCM encryption (E = 1)',
      'AEAD_AES_128_GCM',
      RFC_7714_KEY_128,
      true,
      '81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4',
    ),
    gcmSrtcp(
      'RFC 7714 §16, SRTCP AEAD_AES_128_GCM authentication only (E = 0)',
      'AEAD_AES_128_GCM',
      RFC_7714_KEY_128,
      false,
      RFC_7714_RTCP + '841dd9683dd78ec92ae58790125f62b3000005d4',
    ),
    gcmSrtcp(
      'RFC 7714 §17, SRTCP AEAD_AES_256_GCM encryption (E = 1)',
      'AEAD_AES_256_GCM',
      RFC_7714_KEY_256,
      true,
      '81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4',
    ),
    gcmSrtcp(
      'RFC 7714 §17, SRTCP AEAD_AES_256_GCM authentication only (E = 0)',
      'AEAD_AES_256_GCM',
      RFC_7714_KEY_256,
      false,
      RFC_7714_RTCP + '91db4afbfeee5a978fab4393ed2615fe000005d4',
    ),
  ],
};

/** Runs the given known answers; throws `SRTP self-test failed: <source>: <what>` on the first mismatch. */
export function checkSuiteKnownAnswers(vectors: SuiteKnownAnswers): void {
  const kd = vectors.aes256KeyDerivation;
  checkKeyDerivation(kd, kd.cipherKey.length / 2, kd.cipherSalt.length / 2);
  checkKeystream(vectors.aes256Keystream);
  for (const v of vectors.gcmSrtp) checkGcmSrtp(v);
  for (const v of vectors.gcmSrtcp) checkGcmSrtcp(v);
}

function checkGcmSrtp(v: GcmSrtpVector): void {
  const t = new AeadAesGcmTransform({ key: hex(v.sessionKey), salt: hex(v.sessionSalt) });
  try {
    const rtp = hex(v.rtp);
    const out = new Uint8Array(rtp.byteLength + GCM_TAG_BYTES);
    t.protect(rtp, v.headerLengthBytes, v.ssrc, v.index, out, new Uint8Array(0));
    expectEqual(v.source, 'protect', out, v.srtp);
    const back = new Uint8Array(rtp.byteLength);
    const none = new Uint8Array(0);
    if (!t.unprotect(out, v.headerLengthBytes, v.ssrc, v.index, none, back))
      fail(v.source, 'unprotect rejected');
    expectEqual(v.source, 'unprotect', back, v.rtp);
    out[out.byteLength - 1]! ^= 1;
    if (t.unprotect(out, v.headerLengthBytes, v.ssrc, v.index, none, back)) {
      fail(v.source, 'unprotect accepted a modified tag');
    }
  } finally {
    t.zeroize();
  }
}

function checkGcmSrtcp(v: GcmSrtcpVector): void {
  const t = new AeadAesGcmSrtcpTransform({ key: hex(v.sessionKey), salt: hex(v.sessionSalt) });
  try {
    const rtcp = hex(v.rtcp);
    const region = new Uint8Array(rtcp.byteLength + GCM_TAG_BYTES + SRTCP_INDEX_WORD_BYTES);
    const none = new Uint8Array(0);
    t.protect(rtcp, v.ssrc, v.index, v.encrypt, region, none);
    expectEqual(v.source, 'protect', region, v.srtcp);
    const back = new Uint8Array(rtcp.byteLength);
    if (!t.unprotect(region, v.ssrc, v.index, v.encrypt, none, back)) fail(v.source, 'unprotect rejected');
    expectEqual(v.source, 'unprotect', back, v.rtcp);
    region[9]! ^= 1;
    if (t.unprotect(region, v.ssrc, v.index, v.encrypt, none, back)) {
      fail(v.source, 'unprotect accepted a modified packet');
    }
  } finally {
    t.zeroize();
  }
}
