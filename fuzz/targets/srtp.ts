// SRTP unprotect through the real receiver (src/srtp/receiver.ts): real keys, valid packets made by the real sender
// (key changes by MKI, a sequence wrap, a 48-bit index, reordering), fed in order between mutants of them and random
// datagrams, for every profile in the registry and MKI lengths 0, 1 and 4; and in phase mode (docs/key-phase.md: no
// MKI, the wire P bit is the key id's low bit), where originals that really have padding verify on the second try
// with P=1, keys rotate across the two phases, and a flipped P bit names the other key.
//
// Per case: no exception; a rejection has a receiver reason and leaves the stream state (ROC and highest sequence
// per SSRC) and the key ring as they were; a packet is accepted only if it is the sender's original, once; every
// valid packet decrypts to the sender's original bytes even after any amount of garbage, and a repeat of one is
// refused as a replay (the replay window still remembers it); a packet that authenticates but has impossible
// padding is refused as bad_padding and changes nothing; in phase mode a valid packet with its P bit flipped is
// refused (auth_fail, or unknown_key carrying the phase it named).
import { asKeyId, asSsrc, type KeyId, type Ssrc } from '../../src/ids.js';
import {
  SRTP_PROFILE_NAMES,
  SrtpReceiver,
  SrtpSender,
  keyPhaseOf,
  srtpProfile,
  type KeyChangeMode,
  type MkiLengthBytes,
  type SrtpMasterKey,
  type SrtpProfileName,
  type SrtpRejectReason,
} from '../../src/srtp/index.js';
import { readPaddingBit, writePaddingBit } from '../../src/packet/key-phase.js';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { mkiOfKeyId, writeSrtpMki } from '../../src/packet/srtp-trailer.js';
import { concat, mutate, randomInput, type Field } from '../mutate.js';
import type { Prng } from '../prng.js';
import { SentPackets, hex, mkiByteValues, same } from '../sent-packets.js';
import { randomRtpPacket, rtpFields } from '../rtp-packets.js';
import {
  ACCEPTED,
  check,
  rejected,
  type CaseOutcome,
  type FuzzInstance,
  type FuzzTarget,
} from '../target.js';

/** What a receiver may answer; key_exhausted is the sender's alone. */
const RECEIVER_REASONS: ReadonlySet<SrtpRejectReason> = new Set([
  'too_short',
  'bad_version',
  'bad_header',
  'unknown_key',
  'auth_fail',
  'replay',
  'bad_padding',
]);
const MKI_LENGTHS: readonly MkiLengthBytes[] = [0, 1, 4];
const PACKETS_PER_KEY = 100;
const RETIRE_GRACE_MS = 1000;
/** Phase mode: shorter than a key's life, so a retired phase expires and names no key for a while. */
const PHASE_RETIRE_GRACE_MS = 20;
const RECENT_PACKETS = 128;
/** A repeat of a packet this close behind the stream's highest index is surely inside the window (128). */
const SURELY_IN_WINDOW = 64;
const LARGE_ROC = 0x1_0000; // an index above 2^32: the 48-bit arithmetic is exercised too

interface Sent {
  readonly rtp: Uint8Array;
  readonly srtp: Uint8Array;
  readonly ssrc: Ssrc;
  readonly index: number;
  readonly keyId: KeyId;
  delivered: boolean;
}

type Expect =
  | { kind: 'valid'; sent: Sent }
  | { kind: 'repeat'; sent: Sent }
  | { kind: 'rogue' }
  | { kind: 'flippedPhase' }
  | { kind: 'garbage' };

/** The lanes: every MKI length in MKI mode, and phase mode (which takes no MKI). */
const LANE_MODES: readonly { keyChange: KeyChangeMode; mkiLengthBytes: MkiLengthBytes }[] = [
  ...MKI_LENGTHS.map((mkiLengthBytes) => ({ keyChange: 'mki' as const, mkiLengthBytes })),
  { keyChange: 'phase', mkiLengthBytes: 0 },
];
const RTP_PADDING_BIT = 0x20;

class Lane {
  readonly name: string;
  readonly sender: SrtpSender;
  readonly receiver: SrtpReceiver;
  readonly ssrcs: readonly Ssrc[];
  readonly #nextSeq = new Map<Ssrc, number>();
  readonly packets: SentPackets<Sent>;
  readonly keyIds: KeyId[] = [];
  #clockMs = 0;
  #protected = 0;
  #activeKey: SrtpMasterKey | undefined;

  constructor(
    rng: Prng,
    readonly profile: SrtpProfileName,
    readonly mkiLengthBytes: MkiLengthBytes,
    readonly keyChange: KeyChangeMode,
  ) {
    this.packets = new SentPackets<Sent>(RECENT_PACKETS, (r) => this.#protect(r));
    this.name = keyChange === 'phase' ? `${profile}/phase` : `${profile}/mki${mkiLengthBytes}`;
    this.sender = new SrtpSender({ profile, mkiLengthBytes, keyChange });
    this.receiver = new SrtpReceiver({
      profile,
      mkiLengthBytes,
      keyChange,
      retireGraceMs: keyChange === 'phase' ? PHASE_RETIRE_GRACE_MS : RETIRE_GRACE_MS,
      now: () => this.#clockMs,
    });
    this.#newKey(rng, asKeyId(rng.between(1, 0xffff_fff0)));
    const fresh = asSsrc(rng.u32());
    const old = asSsrc((fresh + 1) >>> 0);
    this.ssrcs = [fresh, old];
    this.#nextSeq.set(fresh, rng.between(0xff00, 0xffff)); // wraps, so the ROC moves, within a few hundred packets
    const oldSeq = rng.below(0x10000);
    this.sender.setStreamState(old, { roc: LARGE_ROC, lastSeq: oldSeq });
    this.receiver.setStreamState(old, { roc: LARGE_ROC, lastSeq: oldSeq });
    this.#nextSeq.set(old, (oldSeq + 1) & 0xffff);
  }

  #newKey(rng: Prng, keyId: KeyId): void {
    const p = srtpProfile(this.profile);
    const key: SrtpMasterKey = {
      keyId,
      masterKey: rng.bytes(p.masterKeyBytes),
      masterSalt: rng.bytes(p.masterSaltBytes),
    };
    if (this.keyChange === 'phase') {
      // One key per phase. The sender drops the key whose phase the new one takes; the receiver's new key
      // replaces it (zeroized at once), and the key before it is retired: once its grace period is over, its
      // phase names no key until the next one arrives (unknown_key with the phase).
      const samePhase = this.keyIds.at(-2);
      if (samePhase !== undefined) this.sender.retire(samePhase);
      this.sender.addKey(key);
      this.sender.activate(keyId);
      this.receiver.addKey(key);
      const previous = this.keyIds.at(-1);
      if (previous !== undefined) this.receiver.retireKey(previous);
    } else {
      this.sender.addKey(key);
      this.sender.activate(keyId);
      this.receiver.addKey(key);
      // Two keys live at a time; the one before is retired (a grace period, then zeroized); the sender drops it.
      const old = this.keyIds.at(-2);
      if (old !== undefined) {
        this.receiver.retireKey(old);
        this.sender.retire(old);
      }
    }
    this.#activeKey = key;
    this.keyIds.push(keyId);
    if (this.keyIds.length > 8) this.keyIds.shift();
  }

  /**
   * A packet under the active key with P=1 and a padding count that cannot be (0, or past the payload): what only
   * a broken or hostile key holder makes (SrtpSender refuses it). It authenticates, so it reaches the checks after
   * the tag, the last before the stream state moves: it must be refused as bad_padding and move nothing.
   */
  rogue(rng: Prng): Uint8Array {
    const ssrc = rng.pick(this.ssrcs);
    const index = this.highestIndex(ssrc) + 1 + rng.below(3);
    const made = randomRtpPacket(rng, { ssrc, seq: index % 0x10000, maxPayloadBytes: 200 });
    const decoded = decodeRtpHeader(made);
    if (!decoded.ok) throw new Error('fuzz set-up: a made RTP packet does not parse');
    // At least one byte after the header, for the padding count to live in.
    const rtp = made.length > decoded.headerLengthBytes ? made : concat(made, new Uint8Array(1));
    const afterHeader = rtp.length - decoded.headerLengthBytes;
    rtp[0] = rtp[0]! | 0x20;
    rtp[rtp.length - 1] = afterHeader >= 255 || rng.chance(0.5) ? 0 : rng.between(afterHeader + 1, 255);
    const key = this.#activeKey!;
    const t = srtpProfile(this.profile).createTransform(key.masterKey, key.masterSalt);
    const authenticatedBytes = rtp.length + t.cipherOverheadBytes;
    const out = new Uint8Array(authenticatedBytes + this.mkiLengthBytes + t.authTagBytes);
    t.protect(
      rtp,
      decoded.headerLengthBytes,
      ssrc,
      index,
      out.subarray(0, authenticatedBytes),
      out.subarray(authenticatedBytes + this.mkiLengthBytes),
    );
    writeSrtpMki(mkiOfKeyId(key.keyId, this.mkiLengthBytes), this.mkiLengthBytes, out, authenticatedBytes);
    // Phase mode: the tag covers the packet's own P=1; the wire P bit names the key.
    if (this.keyChange === 'phase') writePaddingBit(out, keyPhaseOf(key.keyId));
    t.zeroize();
    return out;
  }

  advanceClock(): void {
    this.#clockMs += 1;
  }

  #protect(rng: Prng): Sent {
    const rotates = this.mkiLengthBytes > 0 || this.keyChange === 'phase';
    if (rotates && ++this.#protected % PACKETS_PER_KEY === 0) {
      this.#newKey(rng, asKeyId((this.keyIds.at(-1)! + 1) >>> 0));
    }
    const ssrc = rng.pick(this.ssrcs);
    const seq = this.#nextSeq.get(ssrc)!;
    // Now and then a packet is lost: the receiver must cope with gaps too.
    this.#nextSeq.set(ssrc, (seq + (rng.chance(0.05) ? 2 : 1)) & 0xffff);
    const rtp = randomRtpPacket(rng, { ssrc, seq, maxPayloadBytes: 1300 });
    const r = this.sender.protect(rtp);
    if (!r.ok) throw new Error(`fuzz set-up: the sender refused a valid packet (${r.reason})`);
    const sent: Sent = { rtp, srtp: r.packet, ssrc, index: r.index, keyId: r.keyId, delivered: false };
    return sent;
  }

  /** What a rejection must leave alone: each stream's ROC and highest sequence number, and which keys are held. */
  snapshot(input: Uint8Array): string {
    const ssrcs: number[] = [...this.ssrcs];
    if (input.length >= 12) ssrcs.push(new DataView(input.buffer, input.byteOffset).getUint32(8));
    const streams = ssrcs.map((s) => this.receiver.streamState(asSsrc(s)));
    const keys = this.keyIds.map((k) => this.receiver.hasKey(k));
    return JSON.stringify({ streams, keys });
  }

  highestIndex(ssrc: Ssrc): number {
    const s = this.receiver.streamState(ssrc);
    return s === undefined ? -1 : s.roc * 0x10000 + s.lastSeq;
  }
}

/** The fields of an SRTP packet: the RTP header's, and the MKI's. */
function srtpFields(lane: Lane, srtp: Uint8Array): Field[] {
  const fields = rtpFields(srtp).filter((f) => f.name !== 'paddingCount'); // the end is the tag, not padding
  const tagBytes = lane.receiver.profile.authTagBytes;
  const mkiAt = srtp.length - tagBytes - lane.mkiLengthBytes;
  for (let i = 0; i < lane.mkiLengthBytes; i++) {
    const values = mkiByteValues(lane.keyIds, lane.mkiLengthBytes, i);
    fields.push({ name: `mki[${i}]`, offset: mkiAt + i, lengthBytes: 1, values });
  }
  return fields;
}

function setup(rng: Prng): FuzzInstance {
  const lanes = SRTP_PROFILE_NAMES.flatMap((p) =>
    LANE_MODES.map((m) => new Lane(rng.fork(), p, m.mkiLengthBytes, m.keyChange)),
  );
  for (const lane of lanes) for (let i = 0; i < 8; i++) lane.packets.nextValid(rng); // something to mutate from the start
  let lane = lanes[0]!;
  let expect: Expect = { kind: 'garbage' };

  function generate(r: Prng): Uint8Array {
    lane = r.pick(lanes);
    const roll = r.below(100);
    if (roll < 4) {
      const sent = lane.packets.nextValid(r);
      expect = { kind: 'valid', sent };
      return sent.srtp;
    }
    if (roll < 6) {
      const repeat = lane.packets.recent.filter(
        (s) =>
          s.delivered &&
          lane.highestIndex(s.ssrc) - s.index < SURELY_IN_WINDOW &&
          lane.receiver.hasKey(s.keyId),
      );
      if (repeat.length > 0) {
        const sent = r.pick(repeat);
        expect = { kind: 'repeat', sent };
        return sent.srtp;
      }
    }
    if (roll < 7) {
      expect = { kind: 'rogue' };
      return lane.rogue(r);
    }
    const src = lane.packets.source(r);
    if (lane.keyChange === 'phase' && src !== undefined && r.chance(0.1)) {
      // A valid packet with only its P bit flipped: it names the other phase's key, and must not verify.
      expect = { kind: 'flippedPhase' };
      const flipped = src.srtp.slice();
      flipped[0] = flipped[0]! ^ RTP_PADDING_BIT;
      return flipped;
    }
    expect = { kind: 'garbage' };
    if (src === undefined || r.chance(0.04)) return randomInput(r, 1500);
    const others = lane.packets.recent.map((s) => s.srtp);
    return mutate(r, { input: src.srtp, fields: srtpFields(lane, src.srtp), others });
  }

  function feed(input: Uint8Array): CaseOutcome {
    const copy = input.slice();
    const before = lane.snapshot(input);
    const r = lane.receiver.unprotect(input);
    check(same(input, copy), () => `${lane.name}: unprotect wrote to its input`);
    if (r.ok) {
      const sent = lane.packets.sentAs(r.ssrc, r.index);
      check(
        sent !== undefined && same(r.packet, sent.rtp),
        () => `${lane.name}: accepted a packet the sender never sent (index ${r.index}): ${hex(r.packet)}`,
      );
      check(!sent.delivered, () => `${lane.name}: accepted index ${r.index} of SSRC ${r.ssrc} twice`);
      check(r.keyId === sent.keyId, () => `${lane.name}: index ${r.index} accepted under key ${r.keyId}`);
      check(r.payloadStart <= r.payloadEnd && r.payloadEnd <= r.packet.length, () => 'payload bounds wrong');
      check(
        expect.kind === 'valid' || expect.kind === 'garbage',
        () => `${lane.name}: a ${expect.kind} packet was accepted`,
      );
      sent.delivered = true;
      lane.advanceClock();
      return ACCEPTED;
    }
    check(RECEIVER_REASONS.has(r.reason), () => `${lane.name}: reason ${r.reason} is not a receiver's`);
    if (r.keyPhase !== undefined) {
      check(
        lane.keyChange === 'phase' && r.reason === 'unknown_key' && r.keyPhase === readPaddingBit(input),
        () => `${lane.name}: ${r.reason} with key phase ${r.keyPhase} for wire P ${readPaddingBit(input)}`,
      );
    }
    const after = lane.snapshot(input);
    check(after === before, () => `${lane.name}: state changed after ${r.reason}: ${before} → ${after}`);
    if (expect.kind === 'valid') {
      // Only a packet that a mutant identical to it already delivered may be refused, and then as a replay.
      check(
        expect.sent.delivered && r.reason === 'replay',
        () =>
          `${lane.name}: a valid packet (index ${expect.kind === 'valid' ? expect.sent.index : -1}) was refused: ${r.reason}`,
      );
    }
    if (expect.kind === 'repeat')
      check(r.reason === 'replay', () => `${lane.name}: a repeat gave ${r.reason}`);
    if (expect.kind === 'rogue')
      check(r.reason === 'bad_padding', () => `${lane.name}: bad padding gave ${r.reason}`);
    if (expect.kind === 'flippedPhase') {
      check(
        r.reason === 'auth_fail' || r.reason === 'unknown_key',
        () => `${lane.name}: a packet with its P bit flipped gave ${r.reason}`,
      );
    }
    return rejected(r.reason);
  }

  return {
    generate,
    feed,
    finish() {
      // After all the garbage, a fresh valid packet on every lane still decrypts to the original.
      const r = rng.fork();
      for (const l of lanes) {
        let sent = l.packets.nextValid(r);
        while (sent.delivered) sent = l.packets.nextValid(r);
        const got = l.receiver.unprotect(sent.srtp);
        check(
          got.ok && same(got.packet, sent.rtp),
          () => `${l.name}: a valid packet after the run was refused`,
        );
      }
    },
  };
}

export const target: FuzzTarget = {
  name: 'srtp',
  summary:
    'SRTP unprotect through SrtpReceiver: sender-made packets, mutated and replayed (src/srtp/receiver.ts)',
  setup,
};
