// The runner shared by the start-up self-tests (self-test.ts, suite-self-test.ts): hex vectors in, the first
// mismatch thrown as `SRTP self-test failed: <source>: <what>`, and the AES-CM key derivation and keystream checks
// that RFC 3711 and RFC 6188 vectors have in common.

import { timingSafeEqual } from 'node:crypto';
import {
  AES_BLOCK_BYTES,
  LABEL_RTP_AUTHENTICATION,
  LABEL_RTP_ENCRYPTION,
  LABEL_RTP_SALT,
  aesCmKeystream,
  deriveSrtpSessionKey,
  writeAesCmIv,
} from './aes-cm.js';

export interface AesCmKeyDerivationVector {
  readonly source: string;
  readonly masterKey: string;
  readonly masterSalt: string;
  readonly cipherKey: string;
  readonly cipherSalt: string;
  readonly authKey: string;
}

export interface AesCmKeystreamVector {
  readonly source: string;
  readonly sessionKey: string;
  readonly sessionSalt: string;
  readonly ssrc: number;
  readonly index: number;
  /** Keystream blocks by their block number counted from the IV. */
  readonly blocks: readonly { readonly block: number; readonly keystream: string }[];
}

/** Derives the session keys (cipher key and salt of the given lengths; the auth key as long as the vector's). */
export function checkKeyDerivation(
  kd: AesCmKeyDerivationVector,
  cipherKeyBytes: number,
  cipherSaltBytes: number,
): void {
  const key = hex(kd.masterKey);
  const salt = hex(kd.masterSalt);
  const derive = (label: number, bytes: number): Uint8Array => deriveSrtpSessionKey(key, salt, label, bytes);
  expectEqual(kd.source, 'cipher key', derive(LABEL_RTP_ENCRYPTION, cipherKeyBytes), kd.cipherKey);
  expectEqual(kd.source, 'cipher salt', derive(LABEL_RTP_SALT, cipherSaltBytes), kd.cipherSalt);
  expectEqual(kd.source, 'auth key', derive(LABEL_RTP_AUTHENTICATION, kd.authKey.length / 2), kd.authKey);
}

export function checkKeystream(ks: AesCmKeystreamVector): void {
  const iv = new Uint8Array(AES_BLOCK_BYTES);
  writeAesCmIv(hex(ks.sessionSalt), ks.ssrc, ks.index, iv);
  const lastBlock = Math.max(...ks.blocks.map((b) => b.block));
  const stream = aesCmKeystream(hex(ks.sessionKey), iv, (lastBlock + 1) * AES_BLOCK_BYTES);
  for (const { block, keystream } of ks.blocks) {
    const at = block * AES_BLOCK_BYTES;
    const what = `keystream block 0x${block.toString(16)}`;
    expectEqual(ks.source, what, stream.subarray(at, at + AES_BLOCK_BYTES), keystream);
  }
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export function expectEqual(source: string, what: string, actual: Uint8Array, expectedHex: string): void {
  const expected = hex(expectedHex);
  if (actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) {
    fail(source, `${what} is ${Buffer.from(actual).toString('hex')}, expected ${expectedHex}`);
  }
}

export function fail(source: string, what: string): never {
  throw new Error(`SRTP self-test failed: ${source}: ${what}`);
}
