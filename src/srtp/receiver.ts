// The SRTP receiver: SRTP in, the sender's original RTP out (RFC 3711 §3.3). The MKI picks one of
// several master keys; per-SSRC index estimation (Appendix A) and replay window (§3.3.2); retired
// keys stay usable for a grace period, then are zeroized and deleted.
//
// A failed unprotect changes neither the input nor any stream state: the plaintext goes to a fresh
// output (a view cut from this receiver's slab, src/packet/output-slab.ts), and the stream is updated only after the tag, the padding and the replay check all pass.
//
// Phase mode (claim 29, docs/key-phase.md): the wire P bit picks one of two keys, one per phase; a newer
// key replaces the older one of its phase. The tag covers the packet's own P bit, which is not on the
// wire: the receiver verifies with P=0 and, failing that, with P=1, and hands on the header that verified.

import type { KeyId, Ssrc } from '../ids.js';
import { srtpProfile } from '../crypto/srtp-profiles.js';
import type { SrtpProfile, SrtpProfileName } from '../crypto/srtp-profiles.js';
import type { KeyChangeMode, KeyPhase } from '../packet/key-phase.js';
import { readPaddingBit, writePaddingBit } from '../packet/key-phase.js';
import { RTP_FIXED_HEADER_BYTES, decodeRtpHeader, decodeRtpPadding } from '../packet/rtp-header.js';
import { decodeSrtpTrailer } from '../packet/srtp-trailer.js';
import type { MkiLengthBytes, SrtpTrailerLayout } from '../packet/srtp-trailer.js';
import { estimateSrtpIndex, isValidSrtpIndex } from './index-estimate.js';
import {
  checkKeyChange,
  checkMkiLength,
  describeSlot,
  holdKey,
  keySlot,
  sameKeyMaterial,
  zeroizeKey,
} from './keys.js';
import type { HeldKey } from './keys.js';
import { SRTP_DEFAULT_REPLAY_WINDOW_PACKETS } from './replay-window.js';
import { RetiringKeys } from './retiring-keys.js';
import { OutputSlab } from '../packet/output-slab.js';
import { SrtpStreams } from './streams.js';
import type { SrtpMasterKey, SrtpRejectReason, SrtpStreamState } from './types.js';

export { SRTP_DEFAULT_RETIRE_GRACE_MS } from './retiring-keys.js';

export interface SrtpReceiverOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  /** How packets name their key: the MKI (default) or the RTP padding bit as a key phase (then mkiLengthBytes 0). */
  readonly keyChange?: KeyChangeMode;
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
  | {
      readonly ok: false;
      readonly reason: SrtpRejectReason;
      readonly keyId?: KeyId;
      /** Phase mode, unknown_key: the phase the packet named (the caller maps it to the key it is waiting for). */
      readonly keyPhase?: KeyPhase;
    };

export class SrtpReceiver {
  readonly profile: SrtpProfile;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly keyChange: KeyChangeMode;
  readonly retireGraceMs: number;
  readonly #layout: SrtpTrailerLayout;
  /** Keys by id and by what names them in packets: the MKI, or in phase mode the phase. */
  readonly #keys: RetiringKeys<HeldKey>;
  readonly #streams: SrtpStreams;
  /** Where outputs are cut from (src/packet/output-slab.ts): a view each, not an array of its own. */
  readonly #out = new OutputSlab();

  constructor(opts: SrtpReceiverOptions) {
    this.profile = srtpProfile(opts.profile);
    this.mkiLengthBytes = checkMkiLength('SrtpReceiver', opts.mkiLengthBytes);
    this.keyChange = checkKeyChange('SrtpReceiver', opts.keyChange, this.mkiLengthBytes);
    this.#streams = new SrtpStreams(
      'SrtpReceiver',
      opts.replayWindowPackets ?? SRTP_DEFAULT_REPLAY_WINDOW_PACKETS,
    );
    const keyChange = this.keyChange;
    this.#keys = new RetiringKeys<HeldKey>('SrtpReceiver', {
      retireGraceMs: opts.retireGraceMs,
      now: opts.now,
      slotOf: (k) => keySlot(k, keyChange),
      zeroize: zeroizeKey,
    });
    this.retireGraceMs = this.#keys.retireGraceMs;
    this.#layout = { mkiLengthBytes: this.mkiLengthBytes, authTagBytes: this.profile.authTagBytes };
  }

  /**
   * Adds a master key (session keys are derived now). Idempotent for an identical key; throws if
   * the same keyId arrives with different bytes, on wrong lengths, or if a live key already has
   * its MKI. A retired key holding that MKI is zeroized and replaced.
   *
   * Phase mode: the phase is the key id's low bit, and a key replaces the older key of its phase, live or
   * not (that is how the phase is reused: docs/key-phase.md); a key older than the one holding its phase
   * is dropped (zeroized, never held: hasKey stays false).
   */
  addKey(key: SrtpMasterKey): void {
    const known = this.#keys.live(key.keyId);
    if (known !== undefined) {
      if (sameKeyMaterial(known, key)) return;
      throw new Error(`SrtpReceiver.addKey: key ${key.keyId} arrived again with different bytes`);
    }
    const held = holdKey('SrtpReceiver.addKey', this.profile, this.mkiLengthBytes, key);
    const slot = keySlot(held, this.keyChange);
    const holder = this.#keys.inSlot(slot);
    if (holder !== undefined) {
      const phase = this.keyChange === 'phase';
      if (phase && holder.keyId > held.keyId) {
        zeroizeKey(held);
        return;
      }
      if (!phase && holder.retiredAtMs === undefined) {
        zeroizeKey(held);
        throw new Error(
          `SrtpReceiver.addKey: key ${key.keyId} has ${describeSlot(held, this.keyChange, this.mkiLengthBytes)}, already used by key ${holder.keyId}`,
        );
      }
      this.#keys.delete(holder);
    }
    this.#keys.add(held);
  }

  /** Whether the key is held and usable (a retired key counts until its grace period ends). */
  hasKey(keyId: KeyId): boolean {
    return this.#keys.live(keyId) !== undefined;
  }

  /** The key stays usable for retireGraceMs, then is zeroized and deleted (on use, or by prune()). No-op if unknown. */
  retireKey(keyId: KeyId): void {
    this.#keys.retire(keyId);
  }

  /** Zeroizes and deletes every retired key past its grace period; returns how many. */
  prune(): number {
    return this.#keys.prune();
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
   * padding) in a view of its own (src/packet/output-slab.ts); the input is never written. Never throws on any input.
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

    const phase = this.keyChange === 'phase';
    const keyPhase = readPaddingBit(srtp);
    const key = this.#keys.inSlot(phase ? keyPhase : trailer.trailer.mki);
    if (key === undefined) {
      if (phase) return { ok: false, reason: 'unknown_key', keyPhase };
      return this.mkiLengthBytes === 0
        ? { ok: false, reason: 'unknown_key' }
        : { ok: false, reason: 'unknown_key', keyId: trailer.trailer.mki as KeyId };
    }
    if (this.#keys.expired(key)) {
      this.#keys.delete(key);
      return { ok: false, reason: 'unknown_key', keyId: key.keyId };
    }

    // From here on every failure of an unauthenticated packet is auth_fail.
    const keyId = key.keyId;
    const stream = this.#streams.get(header.ssrc);
    const index = estimateSrtpIndex(stream?.highestIndex, header.sequenceNumber);
    if (!isValidSrtpIndex(index)) return { ok: false, reason: 'auth_fail', keyId };
    const packet = this.#out.take(authenticated.byteLength - overhead);
    const verify = (a: Uint8Array) =>
      key.transform.unprotect(a, headerLengthBytes, header.ssrc, index, trailer.trailer.tag, packet);
    if (!(phase ? verifyEitherPaddingBit(authenticated, verify) : verify(authenticated))) {
      this.#out.giveBack(packet);
      return { ok: false, reason: 'auth_fail', keyId };
    }
    const padding = decodeRtpPadding(packet, headerLengthBytes);
    if (!padding.ok || (stream !== undefined && !stream.accepts(index))) {
      this.#out.giveBack(packet);
      return { ok: false, reason: padding.ok ? 'replay' : 'bad_padding', keyId };
    }

    this.#streams.commit(header.ssrc, index);
    const payloadEnd = packet.byteLength - padding.paddingBytes;
    return { ok: true, packet, payloadStart: headerLengthBytes, payloadEnd, index, keyId, ssrc: header.ssrc };
  }
}

/**
 * Phase mode: the tag covers the sender's own P bit, which the wire does not show. Verifies a copy of the
 * authenticated portion with P=0 (most packets), then with P=1 (packets that really had padding, or
 * forgeries: two tries double a forger's odds, docs/key-phase.md). The input is never written.
 */
function verifyEitherPaddingBit(authenticated: Uint8Array, verify: (a: Uint8Array) => boolean): boolean {
  const copy = Uint8Array.from(authenticated);
  writePaddingBit(copy, 0);
  if (verify(copy)) return true;
  writePaddingBit(copy, 1);
  return verify(copy);
}
