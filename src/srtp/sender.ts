// The SRTP sender: RTP in, SRTP out (RFC 3711 §3.3). Per-SSRC index estimation (Appendix A, so
// an input that is itself reordered still gets the right indices), one active master key chosen
// by its key id, the MKI naming it in every packet, and the per-key packet limit (§9.2).
// In phase mode (claim 29, docs/key-phase.md) the RTP padding bit names the key instead of the MKI: the
// tag covers the packet's own P bit, and the wire P bit is then set to the key's phase.

import type { KeyId, Ssrc } from '../ids.js';
import { srtpProfile } from '../crypto/srtp-profiles.js';
import type { SrtpProfile, SrtpProfileName } from '../crypto/srtp-profiles.js';
import type { KeyChangeMode } from '../packet/key-phase.js';
import { writePaddingBit } from '../packet/key-phase.js';
import { decodeRtpHeader, decodeRtpPadding } from '../packet/rtp-header.js';
import { writeSrtpMki } from '../packet/srtp-trailer.js';
import type { MkiLengthBytes } from '../packet/srtp-trailer.js';
import { SRTP_MAX_INDEX, estimateSrtpIndex } from './index-estimate.js';
import { checkKeyChange, checkMkiLength, describeSlot, holdKey, keySlot, zeroizeKey } from './keys.js';
import type { HeldKey } from './keys.js';
import { SRTP_DEFAULT_REPLAY_WINDOW_PACKETS } from './replay-window.js';
import { OutputSlab } from '../packet/output-slab.js';
import { SrtpStreams } from './streams.js';
import type { SrtpMasterKey, SrtpRejectReason, SrtpStreamState } from './types.js';

export interface SrtpSenderOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  /** How packets name their key: the MKI (default) or the RTP padding bit as a key phase (then mkiLengthBytes 0). */
  readonly keyChange?: KeyChangeMode;
  /** How far back an out-of-order input packet may be and still be sent; default 128. */
  readonly replayWindowPackets?: number;
  /** Packets one master key may protect, all SSRCs together; default and maximum 2^48 (RFC 3711 §9.2). */
  readonly maxPacketsPerKey?: number;
}

export type SrtpProtectResult =
  | { readonly ok: true; readonly packet: Uint8Array; readonly index: number; readonly keyId: KeyId }
  | { readonly ok: false; readonly reason: SrtpRejectReason };

interface SenderKey extends HeldKey {
  packets: number;
}

export class SrtpSender {
  readonly profile: SrtpProfile;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly keyChange: KeyChangeMode;
  readonly #maxPacketsPerKey: number;
  readonly #keys = new Map<KeyId, SenderKey>();
  /** Key ids by what names them in packets: the MKI, or in phase mode the phase. */
  readonly #keyIdBySlot = new Map<number, KeyId>();
  readonly #streams: SrtpStreams;
  /** Where outputs are cut from (src/packet/output-slab.ts): a view each, not an array of its own. */
  readonly #out = new OutputSlab();
  #active: SenderKey | undefined;

  constructor(opts: SrtpSenderOptions) {
    this.profile = srtpProfile(opts.profile);
    this.mkiLengthBytes = checkMkiLength('SrtpSender', opts.mkiLengthBytes);
    this.keyChange = checkKeyChange('SrtpSender', opts.keyChange, this.mkiLengthBytes);
    this.#streams = new SrtpStreams(
      'SrtpSender',
      opts.replayWindowPackets ?? SRTP_DEFAULT_REPLAY_WINDOW_PACKETS,
    );
    const max = opts.maxPacketsPerKey ?? this.profile.maxPacketsPerKey;
    if (!Number.isSafeInteger(max) || max < 1 || max > this.profile.maxPacketsPerKey) {
      throw new RangeError(`SrtpSender: maxPacketsPerKey must be an integer in 1..2^48, got ${max}`);
    }
    this.#maxPacketsPerKey = max;
  }

  /**
   * Adds a master key ahead of use; derives its session keys now. Throws on wrong lengths, a key id
   * added twice, or an MKI (in phase mode: a phase) another key already uses. With mkiLengthBytes 0 in
   * MKI mode the key is also activated (there is room for one key only). In phase mode there is room
   * for two, one per phase: retire the old key of a phase before adding the next one.
   */
  addKey(key: SrtpMasterKey): void {
    if (this.#keys.has(key.keyId)) throw new Error(`SrtpSender.addKey: key ${key.keyId} is already added`);
    const held = holdKey('SrtpSender.addKey', this.profile, this.mkiLengthBytes, key);
    const slot = keySlot(held, this.keyChange);
    const holder = this.#keyIdBySlot.get(slot);
    if (holder !== undefined) {
      zeroizeKey(held);
      throw new Error(
        `SrtpSender.addKey: key ${key.keyId} has ${describeSlot(held, this.keyChange, this.mkiLengthBytes)}, already used by key ${holder}`,
      );
    }
    const entry: SenderKey = { ...held, packets: 0 };
    this.#keys.set(key.keyId, entry);
    this.#keyIdBySlot.set(slot, key.keyId);
    if (this.mkiLengthBytes === 0 && this.keyChange === 'mki') this.#active = entry;
  }

  /** Later protect() calls use this key. Throws if it was never added (or is retired). */
  activate(keyId: KeyId): void {
    const entry = this.#keys.get(keyId);
    if (entry === undefined) throw new Error(`SrtpSender.activate: unknown key ${keyId}`);
    this.#active = entry;
  }

  /** Zeroizes and deletes the key at once. Retiring the active key leaves none active. No-op if unknown. */
  retire(keyId: KeyId): void {
    const entry = this.#keys.get(keyId);
    if (entry === undefined) return;
    this.#keys.delete(keyId);
    this.#keyIdBySlot.delete(keySlot(entry, this.keyChange));
    if (this.#active === entry) this.#active = undefined;
    zeroizeKey(entry);
  }

  hasKey(keyId: KeyId): boolean {
    return this.#keys.has(keyId);
  }

  get activeKeyId(): KeyId | undefined {
    return this.#active?.keyId;
  }

  streamState(ssrc: Ssrc): SrtpStreamState | undefined {
    return this.#streams.state(ssrc);
  }

  /** Sets the stream's ROC and last sequence number (starting ROC; tests). Throws on out-of-range values. */
  setStreamState(ssrc: Ssrc, s: SrtpStreamState): void {
    this.#streams.set('SrtpSender.setStreamState', ssrc, s);
  }

  /**
   * Protects one RTP packet (header + payload + padding) into a fresh output (a view cut
   * from this sender's slab, src/packet/output-slab.ts):
   * header | encrypted payload | MKI | tag. The input is not modified. In phase mode there is no MKI
   * and the wire P bit is the key's phase; the tag covers the input's own P bit.
   *
   * One snapshot of the active key per packet: the phase stamped and the key that encrypts are the same
   * `key`, and nothing between reading it and returning can yield, so no activate() falls between.
   *
   * Refusals: too_short / bad_version / bad_header (not RTP), bad_padding (P=1 with a bad count),
   * unknown_key (no active key), replay (that index was already sent, or is older than the window),
   * key_exhausted (the index would pass 2^48 - 1, or the key's packet budget is spent).
   */
  protect(rtp: Uint8Array): SrtpProtectResult {
    const decoded = decodeRtpHeader(rtp);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    const { header, headerLengthBytes } = decoded;
    if (!decodeRtpPadding(rtp, headerLengthBytes).ok) return { ok: false, reason: 'bad_padding' };
    const key = this.#active;
    if (key === undefined) return { ok: false, reason: 'unknown_key' };

    const stream = this.#streams.get(header.ssrc);
    const index = estimateSrtpIndex(stream?.highestIndex, header.sequenceNumber);
    if (index > SRTP_MAX_INDEX) return { ok: false, reason: 'key_exhausted' };
    if (index < 0 || (stream !== undefined && !stream.accepts(index))) return { ok: false, reason: 'replay' };
    if (key.packets >= this.#maxPacketsPerKey) return { ok: false, reason: 'key_exhausted' };

    const t = key.transform;
    const authenticatedBytes = rtp.byteLength + t.cipherOverheadBytes;
    const out = this.#out.take(authenticatedBytes + this.mkiLengthBytes + t.authTagBytes);
    t.protect(
      rtp,
      headerLengthBytes,
      header.ssrc,
      index,
      out.subarray(0, authenticatedBytes),
      out.subarray(authenticatedBytes + this.mkiLengthBytes),
    );
    writeSrtpMki(key.mki, this.mkiLengthBytes, out, authenticatedBytes);
    if (this.keyChange === 'phase') writePaddingBit(out, key.phase);

    this.#streams.commit(header.ssrc, index);
    key.packets += 1;
    return { ok: true, packet: out, index, keyId: key.keyId };
  }
}
