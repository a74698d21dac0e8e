// The AES-CM + HMAC-SHA1 SRTP transform (RFC 3711 §4.1.1, §4.2.1), shared by the
// AES_CM_128_HMAC_SHA1_80 and _32 profiles (RFC 4568 §6.2), which differ only in tag length.
// Session keys are derived once per master key (kdr 0), here in the constructor.

import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import {
  AES_BLOCK_BYTES,
  AES_CM_MAX_KEYSTREAM_BYTES,
  LABEL_RTP_AUTHENTICATION,
  LABEL_RTP_ENCRYPTION,
  LABEL_RTP_SALT,
  aesCtrCipherName,
  deriveSrtpSessionKey,
  writeAesCmIv,
} from './aes-cm.js';
import { createNativeAesCmHmacSha1 } from './native.js';
import type { NativeAesCmHmacSha1 } from './native.js';
import type { SrtpTransform } from './srtp-transform.js';

export const HMAC_SHA1_AUTH_KEY_BYTES = 20; // RFC 3711 §8.2, n_a = 160
const HMAC_SHA1_BYTES = 20;
const ROC_BYTES = 4; // RFC 3711 §4.2, the ROC appended to the authenticated portion
const SEQ_MODULUS = 0x1_0000; // RFC 3711 §3.3.1, i = 2^16 * ROC + SEQ

export interface AesCmHmacSha1Params {
  /** Session encryption key length, n_e (equal to the master key length for these profiles). */
  readonly sessionKeyBytes: number;
  readonly sessionSaltBytes: 14;
  readonly authTagBytes: number;
  /** Use the native addon when it is loaded (default true); false forces node:crypto (tests compare the two). */
  readonly native?: boolean;
}

export class AesCmHmacSha1Transform implements SrtpTransform {
  readonly cipherOverheadBytes = 0;
  readonly authTagBytes: number;
  readonly #cipherName: string;
  readonly #sessionKey: Uint8Array;
  readonly #sessionSalt: Uint8Array;
  readonly #authKey: Uint8Array;
  readonly #iv = new Uint8Array(AES_BLOCK_BYTES);
  readonly #roc = new Uint8Array(ROC_BYTES);
  readonly #rocView = new DataView(this.#roc.buffer);
  /** The whole packet in one addon call when the addon is loaded (src/crypto/native.ts); node:crypto otherwise. */
  readonly #native: NativeAesCmHmacSha1 | undefined;
  #zeroized = false;

  /** Lengths are checked by the profile before this runs. */
  constructor(masterKey: Uint8Array, masterSalt: Uint8Array, params: AesCmHmacSha1Params) {
    this.authTagBytes = params.authTagBytes;
    this.#cipherName = aesCtrCipherName(params.sessionKeyBytes);
    this.#sessionKey = deriveSrtpSessionKey(
      masterKey,
      masterSalt,
      LABEL_RTP_ENCRYPTION,
      params.sessionKeyBytes,
    );
    this.#sessionSalt = deriveSrtpSessionKey(masterKey, masterSalt, LABEL_RTP_SALT, params.sessionSaltBytes);
    this.#authKey = deriveSrtpSessionKey(
      masterKey,
      masterSalt,
      LABEL_RTP_AUTHENTICATION,
      HMAC_SHA1_AUTH_KEY_BYTES,
    );
    this.#native =
      params.native === false
        ? undefined
        : createNativeAesCmHmacSha1(this.#sessionKey, this.#sessionSalt, this.#authKey);
  }

  /** Whether this transform runs in the native addon. */
  get isNative(): boolean {
    return this.#native !== undefined;
  }

  protect(
    rtp: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void {
    this.#checkLive();
    if (out.byteLength !== rtp.byteLength || tagOut.byteLength !== this.authTagBytes) {
      throw new RangeError(
        `SRTP protect: out must be ${rtp.byteLength} bytes and tagOut ${this.authTagBytes}, got ${out.byteLength} and ${tagOut.byteLength}`,
      );
    }
    if (rtp.byteLength - headerLengthBytes > AES_CM_MAX_KEYSTREAM_BYTES) {
      throw new RangeError(`SRTP protect: payload over ${AES_CM_MAX_KEYSTREAM_BYTES} bytes`);
    }
    if (this.#native !== undefined) {
      this.#native.protect(ssrc, index, rtp, headerLengthBytes, out, tagOut);
      return;
    }
    out.set(rtp.subarray(0, headerLengthBytes), 0);
    this.#crypt(rtp.subarray(headerLengthBytes), ssrc, index, out.subarray(headerLengthBytes));
    tagOut.set(this.#mac(out, index).subarray(0, this.authTagBytes));
  }

  unprotect(
    authenticated: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean {
    this.#checkLive();
    if (out.byteLength !== authenticated.byteLength) {
      throw new RangeError(
        `SRTP unprotect: out must be ${authenticated.byteLength} bytes, got ${out.byteLength}`,
      );
    }
    if (tag.byteLength !== this.authTagBytes) return false;
    if (authenticated.byteLength - headerLengthBytes > AES_CM_MAX_KEYSTREAM_BYTES) return false;
    if (this.#native !== undefined) {
      // The addon compares the tag with CRYPTO_memcmp, in constant time.
      return this.#native.unprotect(ssrc, index, authenticated, headerLengthBytes, tag, out);
    }
    const expected = this.#mac(authenticated, index).subarray(0, this.authTagBytes);
    if (!timingSafeEqual(expected, tag)) return false;
    out.set(authenticated.subarray(0, headerLengthBytes), 0);
    this.#crypt(authenticated.subarray(headerLengthBytes), ssrc, index, out.subarray(headerLengthBytes));
    return true;
  }

  zeroize(): void {
    this.#sessionKey.fill(0);
    this.#sessionSalt.fill(0);
    this.#authKey.fill(0);
    this.#iv.fill(0);
    this.#native?.free();
    this.#zeroized = true;
  }

  #checkLive(): void {
    if (this.#zeroized) throw new Error('SRTP transform used after zeroize');
  }

  /** RFC 3711 §4.1.1: XOR the payload with the AES-CM keystream for (SSRC, index). */
  #crypt(input: Uint8Array, ssrc: number, index: number, output: Uint8Array): void {
    if (input.byteLength === 0) return;
    writeAesCmIv(this.#sessionSalt, ssrc, index, this.#iv);
    const cipher = createCipheriv(this.#cipherName, this.#sessionKey, this.#iv);
    output.set(cipher.update(input), 0);
    cipher.final();
  }

  /** RFC 3711 §4.2: HMAC-SHA1(k_a, authenticated portion || ROC). */
  #mac(authenticated: Uint8Array, index: number): Uint8Array {
    const roc = Math.floor(index / SEQ_MODULUS);
    this.#rocView.setUint32(0, roc);
    const mac = createHmac('sha1', this.#authKey).update(authenticated).update(this.#roc).digest();
    if (mac.byteLength !== HMAC_SHA1_BYTES)
      throw new Error('HMAC-SHA1 returned a digest of the wrong length');
    return mac;
  }
}
