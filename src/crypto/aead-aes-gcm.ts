// The AEAD_AES_128_GCM / AEAD_AES_256_GCM SRTP and SRTCP transforms (RFC 7714 §8, §9), shared by both profiles,
// which differ only in key length. Session keys are derived once per master key (RFC 7714 §11), in the factories.
//
// SRTP (RFC 7714 §8.2):  | RTP header (AAD) | ciphertext | AEAD tag (16) | MKI |      (no SRTP auth tag)
// SRTCP (RFC 7714 §9.2): | header (8) | ciphertext | AEAD tag (16) | E‖index (4) | MKI |
//   E = 1: AAD = header ‖ E‖index word; the rest of the compound packet is encrypted.
//   E = 0: AAD = the whole compound packet ‖ E‖index word; nothing is encrypted, the tag still follows.
//
// Every per-packet GCM call goes through a `GcmPrimitive`: the native addon's (src/crypto/native.ts, one call into
// OpenSSL with the key schedule kept) when it is loaded, else node:crypto's.

import { LABEL_RTCP_ENCRYPTION, LABEL_RTCP_SALT, LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT } from './aes-cm.js';
import {
  GCM_IV_BYTES,
  GCM_SALT_BYTES,
  GCM_TAG_BYTES,
  NODE_GCM,
  aesGcmCipherName,
  deriveGcmSessionKeys,
  writeSrtcpGcmIv,
  writeSrtpGcmIv,
} from './aes-gcm.js';
import type { GcmPrimitive, GcmSessionKeys } from './aes-gcm.js';
import { createNativeAesGcm } from './native.js';
import {
  SRTCP_CLEAR_HEADER_BYTES,
  SRTCP_INDEX_WORD_BYTES,
  SRTCP_MAX_INDEX,
  type SrtcpTransform,
} from './srtcp-transform.js';
import type { SrtpTransform } from './srtp-transform.js';

const E_FLAG = 0x8000_0000; // RFC 3711 §3.4: the top bit of the E‖SRTCP-index word

/** The SRTP transform's keys from a master key and salt (RFC 7714 §11, labels 0 and 2). */
export function deriveSrtpGcmKeys(masterKey: Uint8Array, masterSalt: Uint8Array): GcmSessionKeys {
  return deriveGcmSessionKeys(masterKey, masterSalt, {
    encryption: LABEL_RTP_ENCRYPTION,
    salt: LABEL_RTP_SALT,
  });
}

/** The SRTCP transform's keys from a master key and salt (RFC 7714 §11, labels 3 and 5). */
export function deriveSrtcpGcmKeys(masterKey: Uint8Array, masterSalt: Uint8Array): GcmSessionKeys {
  return deriveGcmSessionKeys(masterKey, masterSalt, {
    encryption: LABEL_RTCP_ENCRYPTION,
    salt: LABEL_RTCP_SALT,
  });
}

/** The addon's GCM for this one key, as a GcmPrimitive (its key argument is the same key); undefined without it. */
function nativeGcm(key: Uint8Array): { gcm: GcmPrimitive; free: () => void } | undefined {
  const n = createNativeAesGcm(key);
  if (n === undefined) return undefined;
  return {
    gcm: {
      seal: (_key, iv, aad, plaintext, out, tagOut) => n.seal(iv, aad, plaintext, out, tagOut),
      // The addon throws on a tag of the wrong length; a packet's tag is untrusted, so that is a plain failure.
      open: (_key, iv, aad, ciphertext, tag, out) =>
        tag.byteLength === GCM_TAG_BYTES && n.open(iv, aad, ciphertext, tag, out),
    },
    free: () => n.free(),
  };
}

/** Private copies of the session key and salt, and the GCM that uses them, zeroized together. */
class GcmKeyHolder {
  readonly key: Uint8Array;
  readonly salt: Uint8Array;
  readonly iv = new Uint8Array(GCM_IV_BYTES);
  readonly gcm: GcmPrimitive;
  readonly #free: () => void;
  #zeroized = false;

  /** `gcm` given: that one (tests); else the native addon's when loaded, else node:crypto's. */
  constructor(keys: GcmSessionKeys, gcm: GcmPrimitive | undefined) {
    aesGcmCipherName(keys.key.byteLength);
    if (keys.salt.byteLength !== GCM_SALT_BYTES) {
      throw new RangeError(`AES-GCM session salt must be 12 bytes, got ${keys.salt.byteLength}`);
    }
    this.key = Uint8Array.from(keys.key);
    this.salt = Uint8Array.from(keys.salt);
    const native = gcm === undefined ? nativeGcm(this.key) : undefined;
    this.gcm = gcm ?? native?.gcm ?? NODE_GCM;
    this.#free = native?.free ?? (() => {});
  }

  checkLive(what: string): void {
    if (this.#zeroized) throw new Error(`${what} transform used after zeroize`);
  }

  zeroize(): void {
    if (!this.#zeroized) this.#free();
    this.key.fill(0);
    this.salt.fill(0);
    this.iv.fill(0);
    this.#zeroized = true;
  }
}

export class AeadAesGcmTransform implements SrtpTransform {
  readonly cipherOverheadBytes = GCM_TAG_BYTES;
  readonly authTagBytes = 0;
  readonly #keys: GcmKeyHolder;

  /** From session keys (the RFC 7714 §16 vectors give these); profiles use deriveSrtpGcmKeys first. */
  constructor(keys: GcmSessionKeys, gcm?: GcmPrimitive) {
    this.#keys = new GcmKeyHolder(keys, gcm);
  }

  protect(
    rtp: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    out: Uint8Array,
    tagOut: Uint8Array,
  ): void {
    this.#keys.checkLive('SRTP');
    if (out.byteLength !== rtp.byteLength + GCM_TAG_BYTES || tagOut.byteLength !== 0) {
      throw new RangeError(
        `SRTP protect: out must be ${rtp.byteLength + GCM_TAG_BYTES} bytes and tagOut 0, got ${out.byteLength} and ${tagOut.byteLength}`,
      );
    }
    const header = rtp.subarray(0, headerLengthBytes);
    out.set(header, 0);
    writeSrtpGcmIv(this.#keys.salt, ssrc, index, this.#keys.iv);
    this.#keys.gcm.seal(
      this.#keys.key,
      this.#keys.iv,
      header,
      rtp.subarray(headerLengthBytes),
      out.subarray(headerLengthBytes, rtp.byteLength),
      out.subarray(rtp.byteLength),
    );
  }

  unprotect(
    authenticated: Uint8Array,
    headerLengthBytes: number,
    ssrc: number,
    index: number,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean {
    this.#keys.checkLive('SRTP');
    const plainEnd = authenticated.byteLength - GCM_TAG_BYTES;
    if (out.byteLength !== Math.max(plainEnd, 0)) {
      throw new RangeError(`SRTP unprotect: out must be ${plainEnd} bytes, got ${out.byteLength}`);
    }
    if (tag.byteLength !== 0 || plainEnd < headerLengthBytes) return false;
    const header = authenticated.subarray(0, headerLengthBytes);
    writeSrtpGcmIv(this.#keys.salt, ssrc, index, this.#keys.iv);
    if (
      !this.#keys.gcm.open(
        this.#keys.key,
        this.#keys.iv,
        header,
        authenticated.subarray(headerLengthBytes, plainEnd),
        authenticated.subarray(plainEnd),
        out.subarray(headerLengthBytes),
      )
    ) {
      return false;
    }
    out.set(header, 0);
    return true;
  }

  zeroize(): void {
    this.#keys.zeroize();
  }
}

export class AeadAesGcmSrtcpTransform implements SrtcpTransform {
  readonly cipherOverheadBytes = GCM_TAG_BYTES;
  readonly authTagBytes = 0;
  readonly #keys: GcmKeyHolder;
  readonly #aad = new Uint8Array(SRTCP_CLEAR_HEADER_BYTES + SRTCP_INDEX_WORD_BYTES);

  /** From session keys (the RFC 7714 §17 vectors give these); profiles use deriveSrtcpGcmKeys first. */
  constructor(keys: GcmSessionKeys, gcm?: GcmPrimitive) {
    this.#keys = new GcmKeyHolder(keys, gcm);
  }

  protect(
    rtcp: Uint8Array,
    ssrc: number,
    index: number,
    encrypt: boolean,
    regionOut: Uint8Array,
    tagOut: Uint8Array,
  ): void {
    this.#keys.checkLive('SRTCP');
    const regionBytes = rtcp.byteLength + GCM_TAG_BYTES + SRTCP_INDEX_WORD_BYTES;
    if (regionOut.byteLength !== regionBytes || tagOut.byteLength !== 0) {
      throw new RangeError(
        `SRTCP protect: regionOut must be ${regionBytes} bytes and tagOut 0, got ${regionOut.byteLength} and ${tagOut.byteLength}`,
      );
    }
    if (rtcp.byteLength < SRTCP_CLEAR_HEADER_BYTES) {
      throw new RangeError(`SRTCP protect: an RTCP packet is at least 8 bytes, got ${rtcp.byteLength}`);
    }
    checkSrtcpIndex(index);
    const word = regionOut.subarray(regionBytes - SRTCP_INDEX_WORD_BYTES);
    writeIndexWord(word, encrypt, index);
    const tagAt = rtcp.byteLength;
    writeSrtcpGcmIv(this.#keys.salt, ssrc, index, this.#keys.iv);
    const tag = regionOut.subarray(tagAt, tagAt + GCM_TAG_BYTES);
    if (encrypt) {
      const header = rtcp.subarray(0, SRTCP_CLEAR_HEADER_BYTES);
      regionOut.set(header, 0);
      const aad = this.#encryptedAad(header, word);
      const body = rtcp.subarray(SRTCP_CLEAR_HEADER_BYTES);
      this.#keys.gcm.seal(this.#keys.key, this.#keys.iv, aad, body, regionOut.subarray(8, tagAt), tag);
    } else {
      regionOut.set(rtcp, 0);
      const aad = concat(rtcp, word);
      this.#keys.gcm.seal(this.#keys.key, this.#keys.iv, aad, new Uint8Array(0), new Uint8Array(0), tag);
    }
  }

  unprotect(
    region: Uint8Array,
    ssrc: number,
    index: number,
    encrypted: boolean,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean {
    this.#keys.checkLive('SRTCP');
    const tagAt = region.byteLength - SRTCP_INDEX_WORD_BYTES - GCM_TAG_BYTES;
    if (out.byteLength !== Math.max(tagAt, 0)) {
      throw new RangeError(`SRTCP unprotect: out must be ${tagAt} bytes, got ${out.byteLength}`);
    }
    if (tag.byteLength !== 0 || tagAt < SRTCP_CLEAR_HEADER_BYTES) return false;
    if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX) return false;
    // The AAD is the word as received: the caller read E and the index from it, and a mismatch fails the tag.
    const word = region.subarray(tagAt + GCM_TAG_BYTES);
    const gcmTag = region.subarray(tagAt, tagAt + GCM_TAG_BYTES);
    writeSrtcpGcmIv(this.#keys.salt, ssrc, index, this.#keys.iv);
    const { key, iv } = this.#keys;
    if (encrypted) {
      const header = region.subarray(0, SRTCP_CLEAR_HEADER_BYTES);
      const aad = this.#encryptedAad(header, word);
      const body = region.subarray(SRTCP_CLEAR_HEADER_BYTES, tagAt);
      if (!this.#keys.gcm.open(key, iv, aad, body, gcmTag, out.subarray(SRTCP_CLEAR_HEADER_BYTES)))
        return false;
      out.set(header, 0);
      return true;
    }
    const rtcp = region.subarray(0, tagAt);
    if (!this.#keys.gcm.open(key, iv, concat(rtcp, word), new Uint8Array(0), gcmTag, new Uint8Array(0)))
      return false;
    out.set(rtcp, 0);
    return true;
  }

  zeroize(): void {
    this.#keys.zeroize();
    this.#aad.fill(0);
  }

  /** header ‖ E‖index, in a reused buffer (E = 1 case, the common one). */
  #encryptedAad(header: Uint8Array, word: Uint8Array): Uint8Array {
    this.#aad.set(header, 0);
    this.#aad.set(word, SRTCP_CLEAR_HEADER_BYTES);
    return this.#aad;
  }
}

function checkSrtcpIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX) {
    throw new RangeError(`SRTCP protect: index must be an integer in 0..${SRTCP_MAX_INDEX}, got ${index}`);
  }
}

function writeIndexWord(out: Uint8Array, encrypt: boolean, index: number): void {
  new DataView(out.buffer, out.byteOffset, SRTCP_INDEX_WORD_BYTES).setUint32(
    0,
    (encrypt ? E_FLAG + index : index) >>> 0,
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
