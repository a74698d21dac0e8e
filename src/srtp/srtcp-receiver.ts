// The SRTCP receiver (RFC 3711 §3.4, §3.3.2): SRTCP in, the sender's compound RTCP out, decoded. The MKI picks the
// key (the same keys as the SRTP stream: add and retire them here as on the SrtpReceiver); a replay window per
// SSRC over the 31-bit SRTCP index rejects duplicates and packets older than the window.
//
// unprotect() is the one entry point for network input: bytes in, a result out, never an exception, and a
// rejection changes nothing (no key, no window). Before the key lookup the reasons are too_short, bad_version,
// bad_header, unknown_key; after it every failure of an unauthenticated packet is auth_fail. replay, too_old and
// malformed (not a valid compound: RFC 3550 Appendix A.2) are reported only for packets whose tag verified, so no
// reason tells a forger anything.

import { srtpProfile, type SrtpProfile, type SrtpProfileName } from '../crypto/srtp-profiles.js';
import type { KeyId, Ssrc } from '../ids.js';
import { RTCP_PT_RR, RTCP_PT_SR, decodeRtcpCompound, type RtcpPacket } from '../packet/rtcp.js';
import { decodeSrtcp, type SrtcpLayout } from '../packet/srtcp-trailer.js';
import type { MkiLengthBytes } from '../packet/srtp-trailer.js';
import { checkMkiLength, describeMki } from './keys.js';
import { ReplayWindow, SRTP_MIN_REPLAY_WINDOW_PACKETS } from './replay-window.js';
import { RetiringKeys, type RetiringKey } from './retiring-keys.js';
import { holdSrtcpKey, sameSrtcpKeyMaterial, zeroizeSrtcpKey, type HeldSrtcpKey } from './srtcp-keys.js';
import type { SrtpMasterKey } from './types.js';

export const SRTCP_DEFAULT_REPLAY_WINDOW_PACKETS = 128;
const INDEX_WORD_BYTES = 4;

export type SrtcpRejectReason =
  | 'too_short'
  | 'bad_version'
  | 'bad_header'
  | 'unknown_key'
  | 'auth_fail'
  | 'replay'
  | 'too_old'
  | 'malformed';

export const SRTCP_REJECT_REASONS: readonly SrtcpRejectReason[] = [
  'too_short',
  'bad_version',
  'bad_header',
  'unknown_key',
  'auth_fail',
  'replay',
  'too_old',
  'malformed',
];

export interface SrtcpReceiverOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  /** Replay window in packets, at least 64 (RFC 3711 §3.3.2); default 128. */
  readonly replayWindowPackets?: number;
  /** How long a retired key still verifies; default 5000 ms. */
  readonly retireGraceMs?: number;
  /** Clock in ms for the grace period; default performance.now. */
  readonly now?: () => number;
}

export type SrtcpUnprotectResult =
  | {
      readonly ok: true;
      /** The sender's compound RTCP packet, in a new buffer. */
      readonly rtcp: Uint8Array;
      /** Its packets, decoded (views into `rtcp`); the first is an SR or RR. */
      readonly packets: readonly RtcpPacket[];
      readonly cname: string;
      readonly ssrc: Ssrc;
      readonly index: number;
      readonly encrypted: boolean;
      readonly keyId: KeyId;
    }
  | { readonly ok: false; readonly reason: SrtcpRejectReason; readonly keyId?: KeyId };

type ReceiverKey = RetiringKey<HeldSrtcpKey>;

/** Keys tried, newest first, for a packet without an MKI. */
const SRTCP_TRIAL_KEYS = 4;

export class SrtcpReceiver {
  readonly profile: SrtpProfile;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly replayWindowPackets: number;
  readonly retireGraceMs: number;
  readonly #layout: SrtcpLayout;
  /** Keys by id and by MKI. */
  readonly #keys: RetiringKeys<HeldSrtcpKey>;
  readonly #windows = new Map<number, ReplayWindow>();

  constructor(opts: SrtcpReceiverOptions) {
    this.profile = srtpProfile(opts.profile);
    this.mkiLengthBytes = checkMkiLength('SrtcpReceiver', opts.mkiLengthBytes);
    const window = opts.replayWindowPackets ?? SRTCP_DEFAULT_REPLAY_WINDOW_PACKETS;
    if (!Number.isSafeInteger(window) || window < SRTP_MIN_REPLAY_WINDOW_PACKETS) {
      throw new RangeError(`SrtcpReceiver: replayWindowPackets must be an integer >= 64, got ${window}`);
    }
    this.replayWindowPackets = window;
    this.#keys = new RetiringKeys<HeldSrtcpKey>('SrtcpReceiver', {
      retireGraceMs: opts.retireGraceMs,
      now: opts.now,
      slotOf: (k) => k.mki,
      zeroize: zeroizeSrtcpKey,
    });
    this.retireGraceMs = this.#keys.retireGraceMs;
    // The SRTCP tag length is the transform's (80 bits for every AES-CM profile), not the SRTP profile's.
    const probe = this.profile.createSrtcpTransform(
      new Uint8Array(this.profile.masterKeyBytes),
      new Uint8Array(this.profile.masterSaltBytes),
    );
    this.#layout = {
      mkiLengthBytes: this.mkiLengthBytes,
      authTagBytes: probe.authTagBytes,
      cipherOverheadBytes: probe.cipherOverheadBytes,
    };
    probe.zeroize();
  }

  /**
   * Adds a master key. Idempotent for an identical key; throws if the same keyId arrives with different bytes,
   * on wrong lengths, or if a live key already has its MKI. A retired key holding that MKI is replaced.
   */
  addKey(key: SrtpMasterKey): void {
    const known = this.#keys.live(key.keyId);
    if (known !== undefined) {
      if (sameSrtcpKeyMaterial(known, key)) return;
      throw new Error(`SrtcpReceiver.addKey: key ${key.keyId} arrived again with different bytes`);
    }
    const held = holdSrtcpKey('SrtcpReceiver.addKey', this.profile, this.mkiLengthBytes, key);
    // Without an MKI (single key, or padding-bit phase mode, where RTCP carries no phase) keys are told apart
    // by trial: see #candidates.
    const holder = this.mkiLengthBytes === 0 ? undefined : this.#keys.inSlot(held.mki);
    if (holder !== undefined) {
      if (holder.retiredAtMs === undefined) {
        zeroizeSrtcpKey(held);
        throw new Error(
          `SrtcpReceiver.addKey: key ${key.keyId} has ${describeMki(held.mki, this.mkiLengthBytes)}, already used by key ${holder.keyId}`,
        );
      }
      this.#keys.delete(holder);
    }
    this.#keys.add(held);
  }

  hasKey(keyId: KeyId): boolean {
    return this.#keys.live(keyId) !== undefined;
  }

  /** The key stays usable for retireGraceMs, then is zeroized and deleted. No-op if unknown. */
  retireKey(keyId: KeyId): void {
    this.#keys.retire(keyId);
  }

  /** Zeroizes and deletes every retired key past its grace period; returns how many. */
  prune(): number {
    return this.#keys.prune();
  }

  /** The highest SRTCP index accepted from `ssrc`, if any. */
  highestIndex(ssrc: Ssrc): number | undefined {
    return this.#windows.get(ssrc)?.highestIndex;
  }

  /** Verifies, decrypts and decodes one SRTCP packet. Never throws; never writes its input. */
  unprotect(srtcp: Uint8Array): SrtcpUnprotectResult {
    const decoded = decodeSrtcp(srtcp, this.#layout);
    if (!decoded.ok) return { ok: false, reason: 'too_short' };
    const { parts } = decoded;
    if (srtcp[0]! >>> 6 !== 2) return { ok: false, reason: 'bad_version' };
    // RFC 3550 Appendix A.2: a compound starts with an SR or RR (the first 8 bytes are never encrypted).
    if (srtcp[1] !== RTCP_PT_SR && srtcp[1] !== RTCP_PT_RR) return { ok: false, reason: 'bad_header' };

    const candidates = this.#candidates(parts.mki);
    if (candidates.length === 0) {
      return this.mkiLengthBytes === 0
        ? { ok: false, reason: 'unknown_key' }
        : { ok: false, reason: 'unknown_key', keyId: parts.mki as KeyId };
    }

    // From here on every failure of an unauthenticated packet is auth_fail.
    let keyId: KeyId | undefined;
    const rtcp = new Uint8Array(
      parts.region.byteLength - this.#layout.cipherOverheadBytes - INDEX_WORD_BYTES,
    );
    for (const key of candidates) {
      if (key.transform.unprotect(parts.region, parts.ssrc, parts.index, parts.encrypted, parts.tag, rtcp)) {
        keyId = key.keyId;
        break;
      }
    }
    if (keyId === undefined) {
      return this.mkiLengthBytes === 0
        ? { ok: false, reason: 'auth_fail' }
        : { ok: false, reason: 'auth_fail', keyId: candidates[0]!.keyId };
    }
    const window = this.#windows.get(parts.ssrc);
    if (window !== undefined && !window.accepts(parts.index)) {
      const tooOld = window.highestIndex - parts.index >= window.sizePackets;
      return { ok: false, reason: tooOld ? 'too_old' : 'replay', keyId };
    }
    const compound = decodeRtcpCompound(rtcp);
    if (!compound.ok) return { ok: false, reason: 'malformed', keyId };

    this.#commit(parts.ssrc, parts.index);
    return {
      ok: true,
      rtcp,
      packets: compound.packets,
      cname: compound.cname,
      ssrc: parts.ssrc as Ssrc,
      index: parts.index,
      encrypted: parts.encrypted,
      keyId,
    };
  }

  /**
   * The keys a packet may be under. With an MKI: the one key holding it. Without: every live key, newest first,
   * at most SRTCP_TRIAL_KEYS (a sender report a second makes the extra MACs free; each try is one more 2^-80
   * chance for a forgery, so the bound keeps the odds at 2^-78 at worst).
   */
  #candidates(mki: number): ReceiverKey[] {
    const live = (k: ReceiverKey | undefined) => k !== undefined && !this.#keys.expired(k);
    if (this.mkiLengthBytes !== 0) {
      const key = this.#keys.inSlot(mki);
      return live(key) ? [key!] : [];
    }
    return [...this.#keys.all()]
      .filter(live)
      .sort((a, b) => b.keyId - a.keyId)
      .slice(0, SRTCP_TRIAL_KEYS);
  }

  #commit(ssrc: number, index: number): void {
    let w = this.#windows.get(ssrc);
    if (w === undefined) {
      w = new ReplayWindow(this.replayWindowPackets, index);
      this.#windows.set(ssrc, w);
    }
    w.accept(index);
  }
}
