// Compound RTCP (RFC 3550 §6): sender report (SR), receiver report (RR) and source description (SDES); any other
// packet type (BYE, APP, feedback) is carried as opaque bytes. Decoding is strict, as RFC 3550 Appendix A.2
// checks a compound: version 2 everywhere, lengths that add up exactly, padding only in the last packet, the first
// packet an SR or RR, and an SDES CNAME present (§6.1).
// Wire format only: no crypto, no I/O.

import type { Ssrc } from '../ids.js';

export const RTCP_VERSION = 2; // RFC 3550 §6.4.1
export const RTCP_HEADER_BYTES = 4; // V/P/count, PT, length
export const RTCP_PT_SR = 200; // RFC 3550 §12.1
export const RTCP_PT_RR = 201; // RFC 3550 §12.1
export const RTCP_PT_SDES = 202; // RFC 3550 §12.1
export const RTCP_SDES_END = 0; // RFC 3550 §6.5, the null item that ends a chunk
export const RTCP_SDES_CNAME = 1; // RFC 3550 §6.5.1
export const RTCP_MAX_COUNT = 31; // RFC 3550 §6.4.1, the 5-bit RC / SC field
const SENDER_INFO_BYTES = 20; // NTP (8), RTP timestamp, packet count, octet count
const REPORT_BLOCK_BYTES = 24; // RFC 3550 §6.4.1
const SDES_ITEM_MAX_BYTES = 255; // the 8-bit item length
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;
const U32 = 0x1_0000_0000;

/** One reception report block (RFC 3550 §6.4.1). */
export interface RtcpReportBlock {
  readonly ssrc: Ssrc;
  readonly fractionLost: number;
  /** 24-bit signed cumulative count of packets lost. */
  readonly cumulativeLost: number;
  readonly highestSeq: number;
  readonly jitter: number;
  readonly lastSr: number;
  readonly delaySinceLastSr: number;
}

/** A 64-bit NTP timestamp as its two 32-bit halves (RFC 3550 §4). */
export interface NtpTimestamp {
  readonly seconds: number;
  readonly fraction: number;
}

export interface RtcpSenderReport {
  readonly type: 'sr';
  readonly ssrc: Ssrc;
  readonly ntp: NtpTimestamp;
  readonly rtpTimestamp: number;
  /** RTP data packets sent since the start of transmission (mod 2^32). */
  readonly packetCount: number;
  /** RTP payload octets sent (headers and padding not counted; mod 2^32). */
  readonly octetCount: number;
  readonly reports: readonly RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  readonly type: 'rr';
  readonly ssrc: Ssrc;
  readonly reports: readonly RtcpReportBlock[];
}

export interface RtcpSdesItem {
  readonly itemType: number;
  /** A view into the input on decode. */
  readonly value: Uint8Array;
}

export interface RtcpSdesChunk {
  readonly ssrc: Ssrc;
  readonly items: readonly RtcpSdesItem[];
}

export interface RtcpSdes {
  readonly type: 'sdes';
  readonly chunks: readonly RtcpSdesChunk[];
}

/** Any other packet type, kept whole: its 5-bit count and the body after the 4-byte header. */
export interface RtcpOther {
  readonly type: 'other';
  readonly packetType: number;
  readonly count: number;
  readonly body: Uint8Array;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpOther;

export type RtcpRejectReason =
  'too_short' | 'bad_version' | 'bad_length' | 'bad_padding' | 'bad_first_packet' | 'bad_sdes' | 'no_cname';

export type RtcpDecodeResult =
  | {
      readonly ok: true;
      readonly packets: readonly RtcpPacket[];
      /** The CNAME of the first chunk that has one (UTF-8). */
      readonly cname: string;
    }
  | { readonly ok: false; readonly reason: RtcpRejectReason; readonly detail: string };

/** The NTP timestamp of a Unix time in milliseconds (seconds wrap mod 2^32 as NTP's era 0 does in 2036). */
export function ntpOfUnixMs(unixMs: number): NtpTimestamp {
  const wholeSeconds = Math.floor(unixMs / 1000);
  const seconds = (wholeSeconds + NTP_UNIX_OFFSET_SECONDS) % U32;
  const fraction = Math.floor(((unixMs - wholeSeconds * 1000) / 1000) * U32) % U32;
  return { seconds, fraction };
}

/** The Unix time in milliseconds of an NTP timestamp in era 0 (before 2036-02-07). */
export function unixMsOfNtp(ntp: NtpTimestamp): number {
  return (ntp.seconds - NTP_UNIX_OFFSET_SECONDS) * 1000 + (ntp.fraction / U32) * 1000;
}

/*
 * RFC 3550 §6.4.1, the sender report (a receiver report is the same without the sender info, PT = 201):
 *
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *header |V=2|P|    RC   |   PT=SR=200   |             length            |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                         SSRC of sender                        |
 *       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *sender |              NTP timestamp, most significant word             |
 *info   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |             NTP timestamp, least significant word             |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                         RTP timestamp                         |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                     sender's packet count                     |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                      sender's octet count                     |
 *       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *report |                 SSRC_1 (SSRC of first source)                 |
 *block  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  1    | fraction lost |       cumulative number of packets lost       |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |           extended highest sequence number received           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                      interarrival jitter                      |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                         last SR (LSR)                         |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                   delay since last SR (DLSR)                  |
 *       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *
 * RFC 3550 §6.5, SDES: header with SC (source count) and PT = 202, then SC chunks, each an SSRC, items
 * (type, length, text; CNAME = 1) and one or more null octets up to the next 32-bit boundary.
 *
 * "length" is the packet's size in 32-bit words minus one, header included.
 */

/** Encodes packets as one compound (no padding). Throws on values that do not fit their fields. */
export function encodeRtcpCompound(packets: readonly RtcpPacket[]): Uint8Array {
  const parts = packets.map(encodeRtcpPacket);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The compound a sender sends: its SR (no report blocks) and an SDES with its CNAME (RFC 3550 §6.1). */
export function encodeSenderReportCompound(
  sr: Omit<RtcpSenderReport, 'type' | 'reports'>,
  cname: string,
): Uint8Array {
  const cnameBytes = new TextEncoder().encode(cname);
  return encodeRtcpCompound([
    { type: 'sr', ...sr, reports: [] },
    { type: 'sdes', chunks: [{ ssrc: sr.ssrc, items: [{ itemType: RTCP_SDES_CNAME, value: cnameBytes }] }] },
  ]);
}

function encodeRtcpPacket(p: RtcpPacket): Uint8Array {
  switch (p.type) {
    case 'sr':
    case 'rr':
      return encodeReport(p);
    case 'sdes':
      return encodeSdes(p);
    case 'other':
      checkCount(p.count);
      checkUint('packetType', p.packetType, 0xff);
      if (p.body.byteLength % 4 !== 0)
        throw new RangeError(`RTCP packet body must be a multiple of 4 bytes, got ${p.body.byteLength}`);
      return withHeader(p.count, p.packetType, p.body);
  }
}

function encodeReport(p: RtcpSenderReport | RtcpReceiverReport): Uint8Array {
  checkCount(p.reports.length);
  const infoBytes = p.type === 'sr' ? SENDER_INFO_BYTES : 0;
  const body = new Uint8Array(4 + infoBytes + p.reports.length * REPORT_BLOCK_BYTES);
  const v = new DataView(body.buffer);
  v.setUint32(0, checkUint('ssrc', p.ssrc, U32 - 1));
  if (p.type === 'sr') {
    v.setUint32(4, checkUint('ntp.seconds', p.ntp.seconds, U32 - 1));
    v.setUint32(8, checkUint('ntp.fraction', p.ntp.fraction, U32 - 1));
    v.setUint32(12, checkUint('rtpTimestamp', p.rtpTimestamp, U32 - 1));
    v.setUint32(16, checkUint('packetCount', p.packetCount, U32 - 1));
    v.setUint32(20, checkUint('octetCount', p.octetCount, U32 - 1));
  }
  p.reports.forEach((r, i) => writeReportBlock(r, v, 4 + infoBytes + i * REPORT_BLOCK_BYTES));
  return withHeader(p.reports.length, p.type === 'sr' ? RTCP_PT_SR : RTCP_PT_RR, body);
}

function writeReportBlock(r: RtcpReportBlock, v: DataView, at: number): void {
  if (!Number.isInteger(r.cumulativeLost) || r.cumulativeLost < -0x80_0000 || r.cumulativeLost > 0x7f_ffff) {
    throw new RangeError(`RTCP cumulativeLost must be a 24-bit signed integer, got ${r.cumulativeLost}`);
  }
  v.setUint32(at, checkUint('report ssrc', r.ssrc, U32 - 1));
  v.setUint32(
    at + 4,
    checkUint('fractionLost', r.fractionLost, 0xff) * 0x100_0000 + (r.cumulativeLost & 0xff_ffff),
  );
  v.setUint32(at + 8, checkUint('highestSeq', r.highestSeq, U32 - 1));
  v.setUint32(at + 12, checkUint('jitter', r.jitter, U32 - 1));
  v.setUint32(at + 16, checkUint('lastSr', r.lastSr, U32 - 1));
  v.setUint32(at + 20, checkUint('delaySinceLastSr', r.delaySinceLastSr, U32 - 1));
}

function encodeSdes(p: RtcpSdes): Uint8Array {
  checkCount(p.chunks.length);
  const chunks = p.chunks.map((c) => {
    const itemsBytes = c.items.reduce((n, item) => n + 2 + item.value.byteLength, 0);
    // At least one null octet ends the item list, then nulls up to the 32-bit boundary.
    const out = new Uint8Array(Math.ceil((4 + itemsBytes + 1) / 4) * 4);
    new DataView(out.buffer).setUint32(0, checkUint('sdes ssrc', c.ssrc, U32 - 1));
    let at = 4;
    for (const item of c.items) {
      checkUint('sdes itemType', item.itemType, 0xff);
      if (item.itemType === RTCP_SDES_END) throw new RangeError('RTCP SDES item type 0 is the end marker');
      if (item.value.byteLength > SDES_ITEM_MAX_BYTES)
        throw new RangeError(`RTCP SDES item must be at most 255 bytes, got ${item.value.byteLength}`);
      out[at] = item.itemType;
      out[at + 1] = item.value.byteLength;
      out.set(item.value, at + 2);
      at += 2 + item.value.byteLength;
    }
    return out;
  });
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return withHeader(p.chunks.length, RTCP_PT_SDES, body);
}

function withHeader(count: number, packetType: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RTCP_HEADER_BYTES + body.byteLength);
  out[0] = (RTCP_VERSION << 6) | count;
  out[1] = packetType;
  new DataView(out.buffer).setUint16(2, out.byteLength / 4 - 1);
  out.set(body, RTCP_HEADER_BYTES);
  return out;
}

function checkCount(n: number): void {
  if (n > RTCP_MAX_COUNT) throw new RangeError(`RTCP count must be at most 31, got ${n}`);
}

function checkUint(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`RTCP ${field} must be an integer in 0..${max}, got ${value}`);
  }
  return value;
}

type Rejection = Extract<RtcpDecodeResult, { ok: false }>;
const reject = (reason: RtcpRejectReason, detail: string): Rejection => ({ ok: false, reason, detail });

/** Decodes one compound RTCP packet. Total: never throws; every rejection names its reason. */
export function decodeRtcpCompound(bytes: Uint8Array): RtcpDecodeResult {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: RtcpPacket[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const have = bytes.byteLength - at;
    if (have < RTCP_HEADER_BYTES)
      return reject('too_short', `need ${RTCP_HEADER_BYTES} bytes at ${at}, have ${have}`);
    const first = bytes[at]!;
    if (first >>> 6 !== RTCP_VERSION) return reject('bad_version', `version ${first >>> 6} at ${at}`);
    const size = (v.getUint16(at + 2) + 1) * 4;
    if (size > have) return reject('bad_length', `packet at ${at} says ${size} bytes, have ${have}`);
    let bodyEnd = at + size;
    if ((first & 0x20) !== 0) {
      // RFC 3550 §6.4.1: only the last packet of a compound may be padded; the last octet counts the padding.
      if (at + size !== bytes.byteLength)
        return reject('bad_padding', `padding in packet at ${at}, not the last`);
      const pad = bytes[bodyEnd - 1]!;
      if (pad === 0 || pad > size - RTCP_HEADER_BYTES)
        return reject('bad_padding', `padding count ${pad} in ${size} bytes`);
      bodyEnd -= pad;
    }
    const r = decodePacket(bytes, v, at, bodyEnd);
    if ('ok' in r) return r;
    packets.push(r);
    at += size;
  }
  const head = packets[0];
  if (head === undefined) return reject('too_short', 'empty compound');
  if (head.type !== 'sr' && head.type !== 'rr')
    return reject('bad_first_packet', 'a compound must start with an SR or RR');
  const cname = firstCname(packets);
  if (cname === undefined) return reject('no_cname', 'no SDES CNAME in the compound');
  return { ok: true, packets, cname };
}

/** One packet between `at` and `end` (padding removed); a Rejection for a malformed body. */
function decodePacket(bytes: Uint8Array, v: DataView, at: number, end: number): RtcpPacket | Rejection {
  const count = bytes[at]! & 0x1f;
  const packetType = bytes[at + 1]!;
  const bodyAt = at + RTCP_HEADER_BYTES;
  if (packetType === RTCP_PT_SR || packetType === RTCP_PT_RR) {
    const infoBytes = packetType === RTCP_PT_SR ? SENDER_INFO_BYTES : 0;
    const need = RTCP_HEADER_BYTES + 4 + infoBytes + count * REPORT_BLOCK_BYTES;
    // Profile-specific extensions may follow the report blocks (§6.4.1); they are ignored.
    if (end - at < need)
      return reject(
        'bad_length',
        `${packetType === RTCP_PT_SR ? 'SR' : 'RR'} needs ${need} bytes, has ${end - at}`,
      );
    const ssrc = v.getUint32(bodyAt) as Ssrc;
    const reports: RtcpReportBlock[] = [];
    for (let i = 0; i < count; i++)
      reports.push(readReportBlock(v, bodyAt + 4 + infoBytes + i * REPORT_BLOCK_BYTES));
    if (packetType === RTCP_PT_RR) return { type: 'rr', ssrc, reports };
    return {
      type: 'sr',
      ssrc,
      ntp: { seconds: v.getUint32(bodyAt + 4), fraction: v.getUint32(bodyAt + 8) },
      rtpTimestamp: v.getUint32(bodyAt + 12),
      packetCount: v.getUint32(bodyAt + 16),
      octetCount: v.getUint32(bodyAt + 20),
      reports,
    };
  }
  if (packetType === RTCP_PT_SDES) return decodeSdes(bytes, v, bodyAt, end, count);
  return { type: 'other', packetType, count, body: bytes.subarray(bodyAt, end) };
}

function readReportBlock(v: DataView, at: number): RtcpReportBlock {
  const lostWord = v.getUint32(at + 4);
  const lost24 = lostWord & 0xff_ffff;
  return {
    ssrc: v.getUint32(at) as Ssrc,
    fractionLost: lostWord >>> 24,
    cumulativeLost: lost24 >= 0x80_0000 ? lost24 - 0x100_0000 : lost24,
    highestSeq: v.getUint32(at + 8),
    jitter: v.getUint32(at + 12),
    lastSr: v.getUint32(at + 16),
    delaySinceLastSr: v.getUint32(at + 20),
  };
}

function decodeSdes(
  bytes: Uint8Array,
  v: DataView,
  at: number,
  end: number,
  count: number,
): RtcpSdes | Rejection {
  const chunks: RtcpSdesChunk[] = [];
  let p = at;
  for (let c = 0; c < count; c++) {
    if (end - p < 8) return reject('bad_sdes', `chunk ${c} needs 8 bytes, has ${end - p}`);
    const ssrc = v.getUint32(p) as Ssrc;
    p += 4;
    const items: RtcpSdesItem[] = [];
    while (true) {
      if (p >= end) return reject('bad_sdes', `chunk ${c} has no end marker`);
      const itemType = bytes[p]!;
      if (itemType === RTCP_SDES_END) break;
      if (end - p < 2) return reject('bad_sdes', `item at ${p} has no length`);
      const len = bytes[p + 1]!;
      if (p + 2 + len > end)
        return reject('bad_sdes', `item at ${p} says ${len} bytes, runs past the packet`);
      items.push({ itemType, value: bytes.subarray(p + 2, p + 2 + len) });
      p += 2 + len;
    }
    // The end marker and the nulls up to the next 32-bit boundary.
    const chunkEnd = at + Math.ceil((p + 1 - at) / 4) * 4;
    if (chunkEnd > end) return reject('bad_sdes', `chunk ${c} padding runs past the packet`);
    for (let i = p; i < chunkEnd; i++)
      if (bytes[i] !== 0) return reject('bad_sdes', `non-null chunk padding at ${i}`);
    p = chunkEnd;
    chunks.push({ ssrc, items });
  }
  if (p !== end) return reject('bad_sdes', `${end - p} bytes after the last of ${count} chunks`);
  return { type: 'sdes', chunks };
}

function firstCname(packets: readonly RtcpPacket[]): string | undefined {
  for (const p of packets) {
    if (p.type !== 'sdes') continue;
    for (const c of p.chunks) {
      const item = c.items.find((i) => i.itemType === RTCP_SDES_CNAME);
      if (item !== undefined) return new TextDecoder('utf-8', { fatal: false }).decode(item.value);
    }
  }
  return undefined;
}
