// SRTCP unprotect through the real receiver (src/srtp/srtcp-receiver.ts): real keys, compound RTCP packets (SR or
// RR, SDES CNAME, random report blocks, now and then a BYE) protected by the real SrtcpSender with E = 1 and E = 0,
// key changes (by MKI, or by trial of the newest live keys without one), one SSRC whose 31-bit index runs near
// 2^31 - 1, fed in order between mutants of them and random datagrams, for every profile in the registry and MKI
// lengths 0, 1 and 4.
//
// Per case: no exception; a rejection has an SRTCP receiver reason and leaves the highest index per SSRC and the
// keys held as they were; a packet is accepted only if it decrypts to the compound the sender protected, once;
// every valid packet goes through even after any amount of garbage, and a repeat of one is refused as a replay
// (or as too_old); a compound that authenticates but is not valid RTCP (the sender protects whatever has V=2)
// is refused as malformed and changes nothing.
import { asKeyId, asSsrc, type KeyId, type Ssrc } from '../../src/ids.js';
import {
  RTCP_SDES_CNAME,
  decodeRtcpCompound,
  encodeRtcpCompound,
  encodeSenderReportCompound,
  type RtcpPacket,
  type RtcpReportBlock,
  type RtcpSdesItem,
} from '../../src/packet/rtcp.js';
import {
  SRTCP_DEFAULT_REPLAY_WINDOW_PACKETS,
  SRTCP_MAX_INDEX,
  SRTCP_REJECT_REASONS,
  SRTP_PROFILE_NAMES,
  SrtcpReceiver,
  SrtcpSender,
  srtpProfile,
  type MkiLengthBytes,
  type SrtcpRejectReason,
  type SrtpProfileName,
} from '../../src/srtp/index.js';
import { concat, mutate, randomInput, type Field } from '../mutate.js';
import type { Prng } from '../prng.js';
import { SentPackets, hex, mkiByteValues, same } from '../sent-packets.js';
import {
  ACCEPTED,
  check,
  rejected,
  type CaseOutcome,
  type FuzzInstance,
  type FuzzTarget,
} from '../target.js';

/** The receiver's replay window (its default): a repeat further behind its highest index is too_old. */
const REPLAY_WINDOW_PACKETS = SRTCP_DEFAULT_REPLAY_WINDOW_PACKETS;
const RECEIVER_REASONS: ReadonlySet<SrtcpRejectReason> = new Set(SRTCP_REJECT_REASONS);
const MKI_LENGTHS: readonly MkiLengthBytes[] = [0, 1, 4];
const PACKETS_PER_KEY = 100;
const RETIRE_GRACE_MS = 1000;
const RECENT_PACKETS = 128;
/** Delivered packets kept after they leave `packets.recent`, for repeats from behind the window (too_old). */
const ARCHIVED_PACKETS = 256;
/** What the receiver tries, newest first, for a packet without an MKI (src/srtp/srtcp-receiver.ts). */
const TRIAL_KEYS = 4;
/** One SSRC starts this far below the last index (2^31 - 1): the top of the 31-bit range is exercised too. */
const HIGH_START_BELOW_MAX = 200_000;
const INDEX_WORD_BYTES = 4;
const E_FLAG = 0x8000_0000;
const RTCP_PT_BYE = 203;

interface Sent {
  readonly rtcp: Uint8Array;
  readonly srtcp: Uint8Array;
  readonly ssrc: Ssrc;
  readonly index: number;
  readonly encrypted: boolean;
  readonly keyId: KeyId;
  delivered: boolean;
}

type Expect =
  | { kind: 'valid'; sent: Sent }
  | { kind: 'repeat'; sent: Sent; reason: 'replay' | 'too_old' }
  | { kind: 'rogue' }
  | { kind: 'garbage' };

function randomReportBlock(rng: Prng): RtcpReportBlock {
  return {
    ssrc: asSsrc(rng.u32()),
    fractionLost: rng.below(256),
    cumulativeLost: rng.between(-0x80_0000, 0x7f_ffff),
    highestSeq: rng.u32(),
    jitter: rng.u32(),
    lastSr: rng.u32(),
    delaySinceLastSr: rng.u32(),
  };
}

/** A valid compound: mostly what a sender sends (SR + SDES CNAME), sometimes an RR, report blocks, a BYE. */
function randomCompound(rng: Prng, ssrc: Ssrc, cname: string): Uint8Array {
  const sr = {
    ssrc,
    ntp: { seconds: rng.u32(), fraction: rng.u32() },
    rtpTimestamp: rng.u32(),
    packetCount: rng.u32(),
    octetCount: rng.u32(),
  };
  if (rng.chance(0.5)) return encodeSenderReportCompound(sr, cname);
  const reports = Array.from({ length: rng.chance(0.5) ? rng.below(4) : rng.below(32) }, () =>
    randomReportBlock(rng),
  );
  const head: RtcpPacket = rng.chance(0.7) ? { type: 'sr', ...sr, reports } : { type: 'rr', ssrc, reports };
  const items: RtcpSdesItem[] = [{ itemType: RTCP_SDES_CNAME, value: new TextEncoder().encode(cname) }];
  if (rng.chance(0.3)) items.push({ itemType: rng.between(2, 8), value: rng.bytes(rng.below(40)) });
  const packets: RtcpPacket[] = [head, { type: 'sdes', chunks: [{ ssrc, items }] }];
  if (rng.chance(0.1)) packets.push({ type: 'other', packetType: RTCP_PT_BYE, count: 1, body: rng.bytes(4) });
  return encodeRtcpCompound(packets);
}

/**
 * V=2, an SR or RR first (the receiver checks those before the tag), but not a valid compound: no CNAME, a
 * length past the end, a count with no report blocks, padding in the first packet, stray bytes at the end.
 */
function malformedCompound(rng: Prng, valid: Uint8Array): Uint8Array {
  const out = valid.slice();
  const dv = new DataView(out.buffer);
  const firstBytes = (dv.getUint16(2) + 1) * 4;
  switch (rng.below(6)) {
    case 0:
      return out.subarray(0, firstBytes); // the first packet alone: no CNAME
    case 1:
      dv.setUint16(2, dv.getUint16(2) + 1 + rng.below(4)); // the first packet runs past the next one
      break;
    case 2:
      out[0] = (out[0]! & 0xe0) | (((out[0]! & 0x1f) + 1 + rng.below(3)) & 0x1f); // more blocks than bytes
      break;
    case 3:
      out[0] = out[0]! | 0x20; // padding, in a packet that is not the last
      break;
    case 4:
      return concat(out, rng.bytes(1 + rng.below(3))); // stray bytes: no whole header
    default:
      // The first SDES item's length (SDES header, chunk SSRC, item type, then the length octet).
      if (out.length > firstBytes + 9)
        out[firstBytes + 9] = (out[firstBytes + 9]! + 1 + rng.below(200)) & 0xff;
  }
  return out;
}

class Lane {
  readonly name: string;
  readonly sender: SrtcpSender;
  readonly receiver: SrtcpReceiver;
  readonly ssrcs: readonly Ssrc[];
  readonly cname: string;
  /** Bytes of the E‖index word's end, MKI and tag after the compound: where the trailer's fields sit. */
  readonly cipherOverheadBytes: number;
  readonly authTagBytes: number;
  readonly packets: SentPackets<Sent>;
  readonly archive: Sent[] = [];
  readonly keyIds: KeyId[] = [];
  #clockMs = 0;
  #protected = 0;

  constructor(
    rng: Prng,
    readonly profile: SrtpProfileName,
    readonly mkiLengthBytes: MkiLengthBytes,
  ) {
    this.packets = new SentPackets<Sent>(
      RECENT_PACKETS,
      (r) => this.#protect(r),
      (gone) => {
        if (gone.delivered) this.archive.push(gone);
        if (this.archive.length > ARCHIVED_PACKETS) this.archive.shift();
      },
    );
    this.name = `${profile}/mki${mkiLengthBytes}`;
    this.sender = new SrtcpSender({ profile, mkiLengthBytes, encrypt: rng.chance(0.5) });
    this.receiver = new SrtcpReceiver({
      profile,
      mkiLengthBytes,
      retireGraceMs: RETIRE_GRACE_MS,
      now: () => this.#clockMs,
    });
    const p = srtpProfile(profile);
    const probe = p.createSrtcpTransform(new Uint8Array(p.masterKeyBytes), new Uint8Array(p.masterSaltBytes));
    this.cipherOverheadBytes = probe.cipherOverheadBytes;
    this.authTagBytes = probe.authTagBytes;
    probe.zeroize();
    this.cname = `fuzz-${rng.below(1000)}@keycast`;
    this.#newKey(rng, asKeyId(rng.between(1, 0xffff_0000)));
    const fresh = asSsrc(rng.u32());
    const high = asSsrc((fresh + 1) >>> 0);
    this.ssrcs = [fresh, high];
    this.sender.setNextIndex(high, SRTCP_MAX_INDEX - HIGH_START_BELOW_MAX + rng.below(1000));
  }

  #newKey(rng: Prng, keyId: KeyId): void {
    const p = srtpProfile(this.profile);
    const key = { keyId, masterKey: rng.bytes(p.masterKeyBytes), masterSalt: rng.bytes(p.masterSaltBytes) };
    this.sender.addKey(key);
    this.sender.activate(keyId);
    this.receiver.addKey(key);
    this.keyIds.push(keyId);
    // Two keys live at a time; the one before is retired (a grace period, then zeroized); the sender drops it.
    const old = this.keyIds.at(-3);
    if (old !== undefined) {
      this.receiver.retireKey(old);
      this.sender.retire(old);
    }
    if (this.keyIds.length > 8) this.keyIds.shift();
  }

  /**
   * A compound that is not valid RTCP, protected by the real sender under the active key: it authenticates, so
   * it reaches the checks after the tag, the last before the window moves. Its index is lost to the stream.
   */
  rogue(rng: Prng): Uint8Array {
    const ssrc = rng.pick(this.ssrcs);
    let rtcp = malformedCompound(rng, randomCompound(rng, ssrc, this.cname));
    if (decodeRtcpCompound(rtcp).ok)
      rtcp = rtcp.subarray(0, (new DataView(rtcp.buffer).getUint16(2) + 1) * 4);
    const r = this.sender.protect(rtcp, { encrypt: rng.chance(0.5) });
    if (!r.ok) throw new Error(`fuzz set-up: the SRTCP sender refused a packet (${r.reason})`);
    return r.packet;
  }

  advanceClock(): void {
    this.#clockMs += 1;
  }

  #protect(rng: Prng): Sent {
    if (++this.#protected % PACKETS_PER_KEY === 0) this.#newKey(rng, asKeyId(this.keyIds.at(-1)! + 1));
    const ssrc = rng.pick(this.ssrcs);
    // Now and then a packet is lost: the receiver must cope with gaps too.
    if (rng.chance(0.05)) this.sender.setNextIndex(ssrc, this.sender.nextIndex(ssrc) + 1);
    const rtcp = randomCompound(rng, ssrc, this.cname);
    const encrypted = rng.chance(0.8) ? this.sender.encrypt : !this.sender.encrypt;
    const r = this.sender.protect(rtcp, { encrypt: encrypted });
    if (!r.ok) throw new Error(`fuzz set-up: the SRTCP sender refused a valid packet (${r.reason})`);
    const sent: Sent = {
      rtcp,
      srtcp: r.packet,
      ssrc,
      index: r.index,
      encrypted,
      keyId: r.keyId,
      delivered: false,
    };
    return sent;
  }

  /** Whether the receiver would try this key: held, and without an MKI among the newest it tries. */
  tries(keyId: KeyId): boolean {
    if (!this.receiver.hasKey(keyId)) return false;
    if (this.mkiLengthBytes > 0) return true;
    const live = this.keyIds.filter((k) => this.receiver.hasKey(k)).sort((a, b) => b - a);
    return live.slice(0, TRIAL_KEYS).includes(keyId);
  }

  /** What a rejection must leave alone: each SSRC's highest index, and which keys are held. */
  snapshot(input: Uint8Array): string {
    const ssrcs: number[] = [...this.ssrcs];
    if (input.length >= 8) ssrcs.push(new DataView(input.buffer, input.byteOffset).getUint32(4));
    const highest = ssrcs.map((s) => this.receiver.highestIndex(asSsrc(s)) ?? null);
    const keys = this.keyIds.map((k) => this.receiver.hasKey(k));
    return JSON.stringify({ highest, keys });
  }

  highestIndex(ssrc: Ssrc): number {
    return this.receiver.highestIndex(ssrc) ?? -1;
  }
}

/** The fields of an SRTCP packet: the first RTCP header's, the E bit and index, the MKI and the tag. */
function srtcpFields(lane: Lane, sent: Sent): Field[] {
  const { srtcp, ssrc } = sent;
  const wordAt = srtcp.length - lane.authTagBytes - lane.mkiLengthBytes - INDEX_WORD_BYTES;
  const highest = lane.highestIndex(ssrc);
  const e = sent.encrypted ? E_FLAG : 0;
  const near = highest < 0 ? [] : [-64, -1, 0, 1, 2, 128].map((d) => highest + d);
  const indices = [0, 1, SRTCP_MAX_INDEX, SRTCP_MAX_INDEX - 1, sent.index, ...near]
    .filter((i) => i >= 0 && i <= SRTCP_MAX_INDEX)
    .map((i) => (e + i) >>> 0);
  const fields: Field[] = [
    { name: 'version', offset: 0, lengthBytes: 1, mask: 0xc0, values: [0, 1, 3] },
    { name: 'padding', offset: 0, lengthBytes: 1, mask: 0x20 },
    { name: 'reportCount', offset: 0, lengthBytes: 1, mask: 0x1f, values: [0, 1, 30, 31] },
    { name: 'packetType', offset: 1, lengthBytes: 1, values: [200, 201, 202, 203, 204, 205, 206] },
    { name: 'length', offset: 2, lengthBytes: 2, values: [0, 1, 6, 0xffff] },
    { name: 'ssrc', offset: 4, lengthBytes: 4, values: lane.ssrcs },
    { name: 'eBit', offset: wordAt, lengthBytes: 1, mask: 0x80 },
    { name: 'srtcpIndex', offset: wordAt, lengthBytes: 4, values: indices },
  ];
  for (let i = 0; i < lane.mkiLengthBytes; i++) {
    const values = mkiByteValues(lane.keyIds, lane.mkiLengthBytes, i);
    fields.push({ name: `mki[${i}]`, offset: wordAt + INDEX_WORD_BYTES + i, lengthBytes: 1, values });
  }
  const tagAt = srtcp.length - lane.authTagBytes;
  for (let i = 0; i < lane.authTagBytes; i += 4) {
    fields.push({ name: `tag[${i}]`, offset: tagAt + i, lengthBytes: lane.authTagBytes - i >= 4 ? 4 : 1 });
  }
  if (lane.cipherOverheadBytes > 0) {
    // The AEAD tag sits inside the region, before the E‖index word.
    fields.push({ name: 'aeadTag', offset: wordAt - lane.cipherOverheadBytes, lengthBytes: 4 });
  }
  return fields;
}

function setup(rng: Prng): FuzzInstance {
  const lanes = SRTP_PROFILE_NAMES.flatMap((p) => MKI_LENGTHS.map((m) => new Lane(rng.fork(), p, m)));
  for (const lane of lanes) for (let i = 0; i < 8; i++) lane.packets.nextValid(rng); // something to mutate from the start
  let lane = lanes[0]!;
  let expect: Expect = { kind: 'garbage' };

  function generate(r: Prng): Uint8Array {
    lane = r.pick(lanes);
    const roll = r.below(100);
    if (roll < 4) {
      const sent = lane.packets.nextValid(r);
      expect = { kind: 'valid', sent };
      return sent.srtcp;
    }
    if (roll < 6) {
      const from = r.chance(0.3) ? lane.archive : lane.packets.recent;
      const repeat = from.filter((s) => s.delivered && lane.tries(s.keyId));
      if (repeat.length > 0) {
        const sent = r.pick(repeat);
        const behind = lane.highestIndex(sent.ssrc) - sent.index;
        expect = { kind: 'repeat', sent, reason: behind >= REPLAY_WINDOW_PACKETS ? 'too_old' : 'replay' };
        return sent.srtcp;
      }
    }
    if (roll < 7) {
      expect = { kind: 'rogue' };
      return lane.rogue(r);
    }
    expect = { kind: 'garbage' };
    const src = lane.packets.source(r);
    if (src === undefined || r.chance(0.04)) return randomInput(r, 1500);
    const others = lane.packets.recent.map((s) => s.srtcp);
    return mutate(r, { input: src.srtcp, fields: srtcpFields(lane, src), others });
  }

  function feed(input: Uint8Array): CaseOutcome {
    const copy = input.slice();
    const before = lane.snapshot(input);
    const r = lane.receiver.unprotect(input);
    check(same(input, copy), () => `${lane.name}: unprotect wrote to its input`);
    if (r.ok) {
      const sent = lane.packets.sentAs(r.ssrc, r.index);
      check(
        sent !== undefined && same(r.rtcp, sent.rtcp),
        () => `${lane.name}: accepted a packet the sender never sent (index ${r.index}): ${hex(r.rtcp)}`,
      );
      check(!sent.delivered, () => `${lane.name}: accepted index ${r.index} of SSRC ${r.ssrc} twice`);
      check(
        r.encrypted === sent.encrypted && r.keyId === sent.keyId && r.cname === lane.cname,
        () =>
          `${lane.name}: index ${r.index} accepted with E ${r.encrypted}, key ${r.keyId}, CNAME ${r.cname}`,
      );
      check(
        lane.receiver.highestIndex(r.ssrc)! >= r.index,
        () => `${lane.name}: the window did not move to index ${r.index}`,
      );
      check(
        expect.kind === 'valid' || expect.kind === 'garbage',
        () => `${lane.name}: a ${expect.kind} packet was accepted`,
      );
      sent.delivered = true;
      lane.advanceClock();
      return ACCEPTED;
    }
    check(
      RECEIVER_REASONS.has(r.reason),
      () => `${lane.name}: reason ${r.reason} is not an SRTCP receiver's`,
    );
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
    if (expect.kind === 'repeat') {
      const want = expect.reason;
      check(r.reason === want, () => `${lane.name}: a repeat gave ${r.reason}, not ${want}`);
    }
    if (expect.kind === 'rogue')
      check(r.reason === 'malformed', () => `${lane.name}: an authentic malformed compound gave ${r.reason}`);
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
        const got = l.receiver.unprotect(sent.srtcp);
        check(
          got.ok && same(got.rtcp, sent.rtcp),
          () => `${l.name}: a valid packet after the run was refused`,
        );
      }
    },
  };
}

export const target: FuzzTarget = {
  name: 'srtcp',
  summary:
    'SRTCP unprotect through SrtcpReceiver: sender-made compounds, mutated and replayed (src/srtp/srtcp-receiver.ts)',
  setup,
};
