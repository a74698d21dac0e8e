// The AES-CM + HMAC-SHA1 SRTCP transform (RFC 3711 §3.4, §4.1.1, §4.2, §4.3.2), shared by every AES-CM
// profile: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 §6.2) and AES_256_CM_HMAC_SHA1_80 (RFC 6188), which differ
// only in the session key length. The SRTCP tag is 80 bits for all of them, _32 included: RFC 4568 §6.2.2
// shortens only the SRTP tag.
//
//   | header (8) | encrypted rest (E = 1) or clear rest (E = 0) | E‖index (4) | MKI | tag (10) |
//   |<------------------------------ region ----------------------------->|
//
// The tag covers the whole region, E‖index word included (§3.4), and never the MKI. Session keys come from the
// SRTCP labels 3, 4, 5 of the master key, derived once here (kdr 0).

import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import {
  AES_BLOCK_BYTES,
  AES_CM_MAX_KEYSTREAM_BYTES,
  AES_CM_SALT_BYTES,
  LABEL_RTCP_AUTHENTICATION,
  LABEL_RTCP_ENCRYPTION,
  LABEL_RTCP_SALT,
  aesCtrCipherName,
  deriveSrtpSessionKey,
  writeAesCmIv,
} from './aes-cm.js';
import {
  SRTCP_CLEAR_HEADER_BYTES,
  SRTCP_INDEX_WORD_BYTES,
  SRTCP_MAX_INDEX,
  type SrtcpTransform,
} from './srtcp-transform.js';

export const SRTCP_HMAC_SHA1_TAG_BYTES = 10; // RFC 3711 §5.2 and RFC 4568 §6.2: 80 bits for SRTCP
const HMAC_SHA1_AUTH_KEY_BYTES = 20; // RFC 3711 §8.2, n_a = 160
const HMAC_SHA1_BYTES = 20;
const E_FLAG = 0x8000_0000; // RFC 3711 §3.4, the top bit of the E‖index word

export interface AesCmHmacSha1SrtcpParams {
  /** Session encryption key length n_e: 16 for the AES-128 profiles, 32 for AES_256_CM (RFC 6188). */
  readonly sessionKeyBytes: number;
}

export class AesCmHmacSha1SrtcpTransform implements SrtcpTransform {
  readonly cipherOverheadBytes = 0;
  readonly authTagBytes = SRTCP_HMAC_SHA1_TAG_BYTES;
  readonly #cipherName: string;
  readonly #sessionKey: Uint8Array;
  readonly #sessionSalt: Uint8Array;
  readonly #authKey: Uint8Array;
  readonly #iv = new Uint8Array(AES_BLOCK_BYTES);
  #zeroized = false;

  /** Lengths are checked by the profile before this runs. */
  constructor(masterKey: Uint8Array, masterSalt: Uint8Array, params: AesCmHmacSha1SrtcpParams) {
    this.#cipherName = aesCtrCipherName(params.sessionKeyBytes);
    const derive = (label: number, lengthBytes: number) =>
      deriveSrtpSessionKey(masterKey, masterSalt, label, lengthBytes);
    this.#sessionKey = derive(LABEL_RTCP_ENCRYPTION, params.sessionKeyBytes);
    this.#sessionSalt = derive(LABEL_RTCP_SALT, AES_CM_SALT_BYTES);
    this.#authKey = derive(LABEL_RTCP_AUTHENTICATION, HMAC_SHA1_AUTH_KEY_BYTES);
  }

  protect(
    rtcp: Uint8Array,
    ssrc: number,
    index: number,
    encrypt: boolean,
    regionOut: Uint8Array,
    tagOut: Uint8Array,
  ): void {
    this.#checkLive();
    checkIndex(index);
    const regionBytes = rtcp.byteLength + SRTCP_INDEX_WORD_BYTES;
    if (rtcp.byteLength < SRTCP_CLEAR_HEADER_BYTES) {
      throw new RangeError(`SRTCP protect: RTCP packet must be at least 8 bytes, got ${rtcp.byteLength}`);
    }
    if (rtcp.byteLength - SRTCP_CLEAR_HEADER_BYTES > AES_CM_MAX_KEYSTREAM_BYTES) {
      throw new RangeError(`SRTCP protect: RTCP packet over ${AES_CM_MAX_KEYSTREAM_BYTES} bytes`);
    }
    if (regionOut.byteLength !== regionBytes || tagOut.byteLength !== this.authTagBytes) {
      throw new RangeError(
        `SRTCP protect: regionOut must be ${regionBytes} bytes and tagOut ${this.authTagBytes}, got ${regionOut.byteLength} and ${tagOut.byteLength}`,
      );
    }
    const body = rtcp.subarray(SRTCP_CLEAR_HEADER_BYTES);
    const bodyOut = regionOut.subarray(SRTCP_CLEAR_HEADER_BYTES, rtcp.byteLength);
    regionOut.set(rtcp.subarray(0, SRTCP_CLEAR_HEADER_BYTES), 0);
    if (encrypt) this.#crypt(body, ssrc, index, bodyOut);
    else bodyOut.set(body);
    new DataView(regionOut.buffer, regionOut.byteOffset, regionBytes).setUint32(
      rtcp.byteLength,
      (encrypt ? E_FLAG : 0) + index,
    );
    tagOut.set(this.#mac(regionOut).subarray(0, this.authTagBytes));
  }

  unprotect(
    region: Uint8Array,
    ssrc: number,
    index: number,
    encrypted: boolean,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean {
    this.#checkLive();
    const rtcpBytes = region.byteLength - SRTCP_INDEX_WORD_BYTES;
    if (out.byteLength !== Math.max(0, rtcpBytes)) {
      throw new RangeError(
        `SRTCP unprotect: out must be ${Math.max(0, rtcpBytes)} bytes, got ${out.byteLength}`,
      );
    }
    if (rtcpBytes < SRTCP_CLEAR_HEADER_BYTES || tag.byteLength !== this.authTagBytes) return false;
    if (rtcpBytes - SRTCP_CLEAR_HEADER_BYTES > AES_CM_MAX_KEYSTREAM_BYTES) return false;
    if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX) return false;
    const expected = this.#mac(region).subarray(0, this.authTagBytes);
    if (!timingSafeEqual(expected, tag)) return false;
    out.set(region.subarray(0, SRTCP_CLEAR_HEADER_BYTES), 0);
    const body = region.subarray(SRTCP_CLEAR_HEADER_BYTES, rtcpBytes);
    const bodyOut = out.subarray(SRTCP_CLEAR_HEADER_BYTES);
    if (encrypted) this.#crypt(body, ssrc, index, bodyOut);
    else bodyOut.set(body);
    return true;
  }

  zeroize(): void {
    this.#sessionKey.fill(0);
    this.#sessionSalt.fill(0);
    this.#authKey.fill(0);
    this.#iv.fill(0);
    this.#zeroized = true;
  }

  #checkLive(): void {
    if (this.#zeroized) throw new Error('SRTCP transform used after zeroize');
  }

  /** RFC 3711 §4.1.1 with the SRTCP index as i: XOR with the AES-CM keystream for (SSRC, index). */
  #crypt(input: Uint8Array, ssrc: number, index: number, output: Uint8Array): void {
    if (input.byteLength === 0) return;
    writeAesCmIv(this.#sessionSalt, ssrc, index, this.#iv);
    const cipher = createCipheriv(this.#cipherName, this.#sessionKey, this.#iv);
    output.set(cipher.update(input), 0);
    cipher.final();
  }

  /** RFC 3711 §4.2 for SRTCP: HMAC-SHA1(k_a, region), the region ending in the E‖index word. */
  #mac(region: Uint8Array): Uint8Array {
    const mac = createHmac('sha1', this.#authKey).update(region).digest();
    if (mac.byteLength !== HMAC_SHA1_BYTES)
      throw new Error('HMAC-SHA1 returned a digest of the wrong length');
    return mac;
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX) {
    throw new RangeError(`SRTCP protect: index must be an integer in 0..${SRTCP_MAX_INDEX}, got ${index}`);
  }
}
