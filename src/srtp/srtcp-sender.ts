// The SRTCP sender (RFC 3711 §3.4, §3.3.2): compound RTCP in, SRTCP out. The 31-bit SRTCP index starts at 0 per
// SSRC and goes up by one per packet; it belongs to the stream, not to the key, so it runs on across key changes
// (as the SRTP ROC does) and the receivers' replay windows keep working. The E bit is set by default. The key and
// MKI are those of the SRTP stream's current key: the caller adds, activates and retires keys here as it does on
// its SrtpSender.
//
// Index exhaustion (§9.2): at most 2^31 SRTCP packets per SSRC. After index 2^31 - 1 the sender refuses with
// index_exhausted, and never wraps: a wrapped index would replay under the same keystream.

import { SRTCP_MAX_INDEX } from '../crypto/srtcp-transform.js';
import { srtpProfile, type SrtpProfile, type SrtpProfileName } from '../crypto/srtp-profiles.js';
import type { KeyId, Ssrc } from '../ids.js';
import { writeSrtpMki, type MkiLengthBytes } from '../packet/srtp-trailer.js';
import { checkMkiLength, describeMki } from './keys.js';
import { holdSrtcpKey, zeroizeSrtcpKey, type HeldSrtcpKey } from './srtcp-keys.js';
import type { SrtpMasterKey } from './types.js';

const RTCP_MIN_BYTES = 8; // header and sender SSRC
const RTCP_VERSION = 2;

export interface SrtcpSenderOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  /** The E bit: encrypt the compound after its first 8 bytes (RFC 3711 §3.4). Default true. */
  readonly encrypt?: boolean;
}

/** not_rtcp: the input is not an RTCP packet (shorter than 8 bytes, or not version 2). */
export type SrtcpSendRejectReason = 'not_rtcp' | 'unknown_key' | 'index_exhausted';

export type SrtcpProtectResult =
  | { readonly ok: true; readonly packet: Uint8Array; readonly index: number; readonly keyId: KeyId }
  | { readonly ok: false; readonly reason: SrtcpSendRejectReason };

export class SrtcpSender {
  readonly profile: SrtpProfile;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly encrypt: boolean;
  readonly #keys = new Map<KeyId, HeldSrtcpKey>();
  readonly #keyIdByMki = new Map<number, KeyId>();
  /** The index the next packet of each SSRC gets. */
  readonly #nextIndex = new Map<number, number>();
  #active: HeldSrtcpKey | undefined;

  constructor(opts: SrtcpSenderOptions) {
    this.profile = srtpProfile(opts.profile);
    this.mkiLengthBytes = checkMkiLength('SrtcpSender', opts.mkiLengthBytes);
    this.encrypt = opts.encrypt ?? true;
  }

  /** Adds a master key ahead of use. Throws on wrong lengths, a key id added twice, or an MKI in use (with an MKI). */
  addKey(key: SrtpMasterKey): void {
    if (this.#keys.has(key.keyId)) throw new Error(`SrtcpSender.addKey: key ${key.keyId} is already added`);
    const held = holdSrtcpKey('SrtcpSender.addKey', this.profile, this.mkiLengthBytes, key);
    // Without an MKI (single key, or phase mode: RTCP has no phase bit) the receiver tells keys apart by trial.
    const holder = this.mkiLengthBytes === 0 ? undefined : this.#keyIdByMki.get(held.mki);
    if (holder !== undefined) {
      zeroizeSrtcpKey(held);
      throw new Error(
        `SrtcpSender.addKey: key ${key.keyId} has ${describeMki(held.mki, this.mkiLengthBytes)}, already used by key ${holder}`,
      );
    }
    this.#keys.set(held.keyId, held);
    this.#keyIdByMki.set(held.mki, held.keyId);
    if (this.mkiLengthBytes === 0 && this.#active === undefined) this.#active = held;
  }

  /** Later protect() calls use this key. Throws if it was never added (or is retired). */
  activate(keyId: KeyId): void {
    const held = this.#keys.get(keyId);
    if (held === undefined) throw new Error(`SrtcpSender.activate: unknown key ${keyId}`);
    this.#active = held;
  }

  /** Zeroizes and deletes the key. Retiring the active key leaves none active. No-op if unknown. */
  retire(keyId: KeyId): void {
    const held = this.#keys.get(keyId);
    if (held === undefined) return;
    this.#keys.delete(keyId);
    if (this.#keyIdByMki.get(held.mki) === held.keyId) this.#keyIdByMki.delete(held.mki);
    if (this.#active === held) this.#active = undefined;
    zeroizeSrtcpKey(held);
  }

  hasKey(keyId: KeyId): boolean {
    return this.#keys.has(keyId);
  }

  get activeKeyId(): KeyId | undefined {
    return this.#active?.keyId;
  }

  /** The index the next packet of `ssrc` will carry (0 for an SSRC not yet sent); 2^31 once exhausted. */
  nextIndex(ssrc: Ssrc): number {
    return this.#nextIndex.get(ssrc) ?? 0;
  }

  /** Sets the next index of `ssrc` (a restarted sender resuming; tests at the index edges). */
  setNextIndex(ssrc: Ssrc, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index > SRTCP_MAX_INDEX + 1) {
      throw new RangeError(`SrtcpSender.setNextIndex: index must be an integer in 0..2^31, got ${index}`);
    }
    this.#nextIndex.set(ssrc, index);
  }

  /**
   * Protects one compound RTCP packet into a new buffer: header | (encrypted) rest | E‖index | MKI | tag.
   * The input is not modified. The SSRC is the sender SSRC in bytes 4-7.
   */
  protect(rtcp: Uint8Array, opts: { readonly encrypt?: boolean } = {}): SrtcpProtectResult {
    if (rtcp.byteLength < RTCP_MIN_BYTES || rtcp[0]! >>> 6 !== RTCP_VERSION)
      return { ok: false, reason: 'not_rtcp' };
    const key = this.#active;
    if (key === undefined) return { ok: false, reason: 'unknown_key' };
    const ssrc = new DataView(rtcp.buffer, rtcp.byteOffset, RTCP_MIN_BYTES).getUint32(4);
    const index = this.#nextIndex.get(ssrc) ?? 0;
    if (index > SRTCP_MAX_INDEX) return { ok: false, reason: 'index_exhausted' };

    const t = key.transform;
    const regionBytes = rtcp.byteLength + t.cipherOverheadBytes + 4;
    const out = new Uint8Array(regionBytes + this.mkiLengthBytes + t.authTagBytes);
    t.protect(
      rtcp,
      ssrc,
      index,
      opts.encrypt ?? this.encrypt,
      out.subarray(0, regionBytes),
      out.subarray(regionBytes + this.mkiLengthBytes),
    );
    writeSrtpMki(key.mki, this.mkiLengthBytes, out, regionBytes);
    this.#nextIndex.set(ssrc, index + 1);
    return { ok: true, packet: out, index, keyId: key.keyId };
  }
}
