// The vector files of test/vectors/, typed.

import type {
  SrtpKeyDerivationVector,
  SrtpKeystreamVector,
  SrtpPacketVector,
} from '../../src/crypto/self-test.js';
import type {
  AesCmKeyDerivationVector,
  AesCmKeystreamVector,
  GcmSrtcpVector,
  GcmSrtpVector,
} from '../../src/crypto/suite-self-test.js';
import { loadVector } from '../srtp/helpers.js';

export const B3 = loadVector<SrtpKeyDerivationVector & { note: string }>('rfc3711-b3-key-derivation.json');
export const B2 = loadVector<
  SrtpKeystreamVector & {
    note: string;
    iv: string;
    blocks: { block: number; counter: string; keystream: string }[];
  }
>('rfc3711-b2-aes-cm-keystream.json');
export const LIBSRTP = loadVector<{ source: string; note: string; packets: SrtpPacketVector[] }>(
  'libsrtp-srtp-validate.json',
);

export const RFC7714 = loadVector<{
  source: string;
  note: string;
  srtp: GcmSrtpVector[];
  srtcp: GcmSrtcpVector[];
}>('rfc7714-aead-aes-gcm.json');
export const RFC6188 = loadVector<{
  source: string;
  note: string;
  keystream: AesCmKeystreamVector;
  keyDerivation: AesCmKeyDerivationVector;
}>('rfc6188-aes-256-cm.json');
