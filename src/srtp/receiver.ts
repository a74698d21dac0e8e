// The SRTP receiver: SRTP in, the sender's original RTP out (RFC 3711 §3.3). The MKI picks one of
// several master keys; per-SSRC index estimation (Appendix A) and replay window (§3.3.2); retired
// keys stay usable for a grace period, then are zeroized and deleted.
//
// A failed unprotect changes neither the input nor any stream state: the plaintext goes to a new
// buffer, and the stream is updated only after the tag, the padding and the replay check all pass.

import type { KeyId, Ssrc } from '../ids.js';
import { srtpProfile } from '../crypto/srtp-profiles.js';
import type { SrtpProfile, SrtpProfileName } from '../crypto/srtp-profiles.js';
import { RTP_FIXED_HEADER_BYTES, decodeRtpHeader, decodeRtpPadding } from '../packet/rtp-header.js';
import { decodeSrtpTrailer } from '../packet/srtp-trailer.js';
import type { MkiLengthBytes, SrtpTrailerLayout } from '../packet/srtp-trailer.js';
import { estimateSrtpIndex, isValidSrtpIndex } from './index-estimate.js';
import { checkMkiLength, describeMki, holdKey, sameKeyMaterial, zeroizeKey } from './keys.js';
import type { HeldKey } from './keys.js';
import { SRTP_DEFAULT_REPLAY_WINDOW_PACKETS } from './replay-window.js';
import { SrtpStreams } from './streams.js';
import type { SrtpMasterKey, SrtpRejectReason, SrtpStreamState } from './types.js';

export const SRTP_DEFAULT_RETIRE_GRACE_MS = 5_000;

export interface SrtpReceiverOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  /** Replay window in packets, at least 64 (RFC 3711 §3.3.2); default 128. */
  readonly replayWindowPackets?: number;
  /** How long a retired key still decrypts; default 5000 ms. */
  readonly retireGraceMs?: number;
  /** Clock in ms for the grace period; default performance.now. */
  readonly now?: () => number;
}

export type SrtpUnprotectResult =
  | {
      readonly ok: true;
      readonly packet: Uint8Array;
      /** Where the RTP payload lies in `packet`: after the header, before any padding (already validated). */
      readonly payloadStart: number;
      readonly payloadEnd: number;
      readonly index: number;
      readonly keyId: KeyId;
      readonly ssrc: Ssrc;
    }
  | { readonly ok: false; readonly reason: SrtpRejectReason; readonly keyId?: KeyId };

interface ReceiverKey extends HeldKey {
  retiredAtMs: number | undefined;
}

export class SrtpReceiver {
  readonly profile: SrtpProfile;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly retireGraceMs: number;
  readonly #now: () => number;
  readonly #layout: SrtpTrailerLayout;
  readonly #keys = new Map<KeyId, ReceiverKey>();
  readonly #keyByMki = new Map<number, ReceiverKey>();
  readonly #streams: SrtpStreams;

  constructor(opts: SrtpReceiverOptions) {
    this.profile = srtpProfile(opts.profile);
    this.mkiLengthBytes = checkMkiLength('SrtpReceiver', opts.mkiLengthBytes);
    this.#streams = new SrtpStreams(
      'SrtpReceiver',
      opts.replayWindowPackets ?? SRTP_DEFAULT_REPLAY_WINDOW_PACKETS,
    );
    const grace = opts.retireGraceMs ?? SRTP_DEFAULT_RETIRE_GRACE_MS;
    if (!Number.isFinite(grace) || grace < 0) {
      throw new RangeError(`SrtpReceiver: retireGraceMs must be a finite number >= 0, got ${grace}`);
    }
    this.retireGraceMs = grace;
    this.#now = opts.now ?? (() => performance.now());
    this.#layout = { mkiLengthBytes: this.mkiLengthBytes, authTagBytes: this.profile.authTagBytes };
  }

  /**
   * Adds a master key (session keys are derived now). Idempotent for an identical key; throws if
   * the same keyId arrives with different bytes, on wrong lengths, or if a live key already has
   * its MKI. A retired key holding that MKI is zeroized and replaced.
   */
  addKey(key: SrtpMasterKey): void {
    const known = this.#live(key.keyId);
    if (known !== undefined) {
      if (sameKeyMaterial(known, key)) return;
      throw new Error(`SrtpReceiver.addKey: key ${key.keyId} arrived again with different bytes`);
    }
    const held = holdKey('SrtpReceiver.addKey', this.profile, this.mkiLengthBytes, key);
    const holder = this.#keyByMki.get(held.mki);
    if (holder !== undefined) {
      if (holder.retiredAtMs === undefined) {
        zeroizeKey(held);
        throw new Error(
          `SrtpReceiver.addKey: key ${key.keyId} has ${describeMki(held.mki, this.mkiLengthBytes)}, already used by key ${holder.keyId}`,
        );
      }
      this.#delete(holder);
    }
    const entry: ReceiverKey = { ...held, retiredAtMs: undefined };
    this.#keys.set(entry.keyId, entry);
    this.#keyByMki.set(entry.mki, entry);
  }

  /** Whether the key is held and usable (a retired key counts until its grace period ends). */
  hasKey(keyId: KeyId): boolean {
    return this.#live(keyId) !== undefined;
  }

  /** The key stays usable for retireGraceMs, then is zeroized and deleted (on use, or by prune()). No-op if unknown. */
  retireKey(keyId: KeyId): void {
    const entry = this.#live(keyId);
    if (entry !== undefined && entry.retiredAtMs === undefined) entry.retiredAtMs = this.#now();
  }

  /** Zeroizes and deletes every retired key past its grace period; returns how many. */
  prune(): number {
    let deleted = 0;
    for (const entry of [...this.#keys.values()]) {
      if (this.#expired(entry)) {
        this.#delete(entry);
        deleted += 1;
      }
    }
    return deleted;
  }

  /** Sets the stream's ROC and last sequence number (a late joiner learns the ROC from a key message). */
  setStreamState(ssrc: Ssrc, s: SrtpStreamState): void {
    this.#streams.set('SrtpReceiver.setStreamState', ssrc, s);
  }

  streamState(ssrc: Ssrc): SrtpStreamState | undefined {
    return this.#streams.state(ssrc);
  }

  /**
   * Verifies and decrypts one SRTP packet. `packet` is the sender's RTP packet (header, payload,
   * padding) in a new buffer; the input is never written. Never throws on any input.
   *
   * Before the key lookup: too_short, bad_version, bad_header, unknown_key (with the MKI as keyId,
   * so the caller can fetch the missing key). After it, auth_fail for anything unauthenticated;
   * bad_padding and replay only for packets whose tag verified.
   */
  unprotect(srtp: Uint8Array): SrtpUnprotectResult {
    const overhead = this.profile.cipherOverheadBytes;
    const minBytes = RTP_FIXED_HEADER_BYTES + overhead + this.mkiLengthBytes + this.profile.authTagBytes;
    if (srtp.byteLength < minBytes) return { ok: false, reason: 'too_short' };
    const trailer = decodeSrtpTrailer(srtp, this.#layout);
    if (!trailer.ok) return { ok: false, reason: 'too_short' };
    const authenticated = srtp.subarray(0, trailer.authenticatedLengthBytes);
    const decoded = decodeRtpHeader(authenticated);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    const { header, headerLengthBytes } = decoded;
    if (headerLengthBytes + overhead > authenticated.byteLength) return { ok: false, reason: 'bad_header' };

    const key = this.#keyByMki.get(trailer.trailer.mki);
    if (key === undefined) {
      return this.mkiLengthBytes === 0
        ? { ok: false, reason: 'unknown_key' }
        : { ok: false, reason: 'unknown_key', keyId: trailer.trailer.mki as KeyId };
    }
    if (this.#expired(key)) {
      this.#delete(key);
      return { ok: false, reason: 'unknown_key', keyId: key.keyId };
    }

    // From here on every failure of an unauthenticated packet is auth_fail.
    const keyId = key.keyId;
    const stream = this.#streams.get(header.ssrc);
    const index = estimateSrtpIndex(stream?.highestIndex, header.sequenceNumber);
    if (!isValidSrtpIndex(index)) return { ok: false, reason: 'auth_fail', keyId };
    const packet = new Uint8Array(authenticated.byteLength - overhead);
    const t = key.transform;
    if (!t.unprotect(authenticated, headerLengthBytes, header.ssrc, index, trailer.trailer.tag, packet)) {
      return { ok: false, reason: 'auth_fail', keyId };
    }
    const padding = decodeRtpPadding(packet, headerLengthBytes);
    if (!padding.ok) return { ok: false, reason: 'bad_padding', keyId };
    if (stream !== undefined && !stream.accepts(index)) return { ok: false, reason: 'replay', keyId };

    this.#streams.commit(header.ssrc, index);
    const payloadEnd = packet.byteLength - padding.paddingBytes;
    return { ok: true, packet, payloadStart: headerLengthBytes, payloadEnd, index, keyId, ssrc: header.ssrc };
  }

  /** The key, unless absent or past its grace period (then it is deleted here). */
  #live(keyId: KeyId): ReceiverKey | undefined {
    const entry = this.#keys.get(keyId);
    if (entry === undefined) return undefined;
    if (this.#expired(entry)) {
      this.#delete(entry);
      return undefined;
    }
    return entry;
  }

  #expired(entry: ReceiverKey): boolean {
    return entry.retiredAtMs !== undefined && this.#now() - entry.retiredAtMs >= this.retireGraceMs;
  }

  #delete(entry: ReceiverKey): void {
    this.#keys.delete(entry.keyId);
    if (this.#keyByMki.get(entry.mki) === entry) this.#keyByMki.delete(entry.mki);
    zeroizeKey(entry);
  }
}
