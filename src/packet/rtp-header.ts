// RTP fixed header, CSRC list and header extension (RFC 3550 §5.1, §5.3.1). RFC 8285 extension
// blocks (one-byte 0xBEDE, two-byte 0x100X) are kept intact as opaque bytes: this codec never
// looks inside them, so whatever the sender wrote comes back bit for bit.
// Wire format only: no crypto, no I/O.

import type { Ssrc } from '../ids.js';

export const RTP_VERSION = 2; // RFC 3550 §5.1
export const RTP_FIXED_HEADER_BYTES = 12; // RFC 3550 §5.1
export const RTP_MAX_CSRC_COUNT = 15; // RFC 3550 §5.1, the 4-bit CC field
export const RTP_EXTENSION_HEADER_BYTES = 4; // RFC 3550 §5.3.1, profile + length
export const RTP_EXTENSION_MAX_WORDS = 0xffff; // RFC 3550 §5.3.1, 16-bit length in 32-bit words
export const RTP_EXTENSION_PROFILE_ONE_BYTE = 0xbede; // RFC 8285 §4.2
export const RTP_EXTENSION_PROFILE_TWO_BYTE = 0x1000; // RFC 8285 §4.3, 0x100 then 4 appbits
export const RTP_EXTENSION_PROFILE_TWO_BYTE_MASK = 0xfff0; // RFC 8285 §4.3

/** The header extension: the 16-bit "defined by profile" value and the extension body, untouched. */
export interface RtpHeaderExtension {
  readonly profile: number;
  /** The body after the 4-byte extension header; a multiple of 4 bytes. A view into the input on decode. */
  readonly data: Uint8Array;
}

export interface RtpHeader {
  readonly version: typeof RTP_VERSION;
  readonly padding: boolean;
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: Ssrc;
  readonly csrcs: readonly Ssrc[];
  /** Present exactly when the X bit is set. */
  readonly extension?: RtpHeaderExtension | undefined;
}

export type RtpHeaderRejectReason = 'too_short' | 'bad_version' | 'bad_header';

export type RtpHeaderDecodeResult =
  | { readonly ok: true; readonly header: RtpHeader; readonly headerLengthBytes: number }
  | {
      readonly ok: false;
      readonly reason: RtpHeaderRejectReason;
      readonly need?: number;
      readonly have?: number;
    };

export type RtpExtensionForm = 'one_byte' | 'two_byte' | 'other';

/** Which RFC 8285 form an extension profile value names (the body stays opaque either way). */
export function rtpExtensionForm(profile: number): RtpExtensionForm {
  if (profile === RTP_EXTENSION_PROFILE_ONE_BYTE) return 'one_byte';
  if ((profile & RTP_EXTENSION_PROFILE_TWO_BYTE_MASK) === RTP_EXTENSION_PROFILE_TWO_BYTE) return 'two_byte';
  return 'other';
}

/*
 * RFC 3550 §5.1 (fixed header and CSRC list), §5.3.1 (extension):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      defined by profile       |           length              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        header extension                       |
 *    |                             ....                              |
 *
 * RFC 8285 §4.2: "defined by profile" = 0xBEDE (one-byte elements);
 * RFC 8285 §4.3: "defined by profile" = 0x100 | appbits (two-byte elements).
 * "length" counts 32-bit words of the extension body, not counting this 4-byte header.
 */

/** Decodes the RTP header at the start of `bytes`. Total: never throws, whatever the input. */
export function decodeRtpHeader(bytes: Uint8Array): RtpHeaderDecodeResult {
  const have = bytes.byteLength;
  if (have < RTP_FIXED_HEADER_BYTES)
    return { ok: false, reason: 'too_short', need: RTP_FIXED_HEADER_BYTES, have };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = view.getUint8(0);
  if (b0 >>> 6 !== RTP_VERSION) return { ok: false, reason: 'bad_version' };
  const b1 = view.getUint8(1);
  const csrcCount = b0 & 0x0f;
  let need = RTP_FIXED_HEADER_BYTES + 4 * csrcCount;
  if (have < need) return { ok: false, reason: 'bad_header', need, have };
  const csrcs: Ssrc[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(RTP_FIXED_HEADER_BYTES + 4 * i) as Ssrc);
  const fixed = {
    version: RTP_VERSION,
    padding: (b0 & 0x20) !== 0,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8) as Ssrc,
    csrcs,
  } as const;
  if ((b0 & 0x10) === 0) return { ok: true, header: fixed, headerLengthBytes: need };

  const extensionAt = need;
  need += RTP_EXTENSION_HEADER_BYTES;
  if (have < need) return { ok: false, reason: 'bad_header', need, have };
  const profile = view.getUint16(extensionAt);
  const lengthWords = view.getUint16(extensionAt + 2);
  need += 4 * lengthWords;
  if (have < need) return { ok: false, reason: 'bad_header', need, have };
  const data = bytes.subarray(extensionAt + RTP_EXTENSION_HEADER_BYTES, need);
  return { ok: true, header: { ...fixed, extension: { profile, data } }, headerLengthBytes: need };
}

/** Size in bytes of `h` on the wire. */
export function rtpHeaderSize(h: RtpHeader): number {
  const extension = h.extension === undefined ? 0 : RTP_EXTENSION_HEADER_BYTES + h.extension.data.byteLength;
  return RTP_FIXED_HEADER_BYTES + 4 * h.csrcs.length + extension;
}

/** Writes `h` into `out` at `offset`; returns the number of bytes written. Throws on programmer misuse. */
export function writeRtpHeader(h: RtpHeader, out: Uint8Array, offset: number): number {
  checkHeader(h);
  const size = rtpHeaderSize(h);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > out.byteLength) {
    throw new RangeError(
      `writeRtpHeader: need ${size} bytes at offset ${offset}, buffer has ${out.byteLength}`,
    );
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, size);
  const ext = h.extension;
  view.setUint8(
    0,
    (RTP_VERSION << 6) | (h.padding ? 0x20 : 0) | (ext === undefined ? 0 : 0x10) | h.csrcs.length,
  );
  view.setUint8(1, (h.marker ? 0x80 : 0) | h.payloadType);
  view.setUint16(2, h.sequenceNumber);
  view.setUint32(4, h.timestamp);
  view.setUint32(8, h.ssrc);
  let at = RTP_FIXED_HEADER_BYTES;
  for (const csrc of h.csrcs) {
    view.setUint32(at, csrc);
    at += 4;
  }
  if (ext !== undefined) {
    view.setUint16(at, ext.profile);
    view.setUint16(at + 2, ext.data.byteLength / 4);
    out.set(ext.data, offset + at + RTP_EXTENSION_HEADER_BYTES);
  }
  return size;
}

/** Encodes `h` into a new buffer of `rtpHeaderSize(h)` bytes. */
export function encodeRtpHeader(h: RtpHeader): Uint8Array {
  const out = new Uint8Array(rtpHeaderSize(h));
  writeRtpHeader(h, out, 0);
  return out;
}

function checkHeader(h: RtpHeader): void {
  if (h.version !== RTP_VERSION)
    throw new RangeError(`RTP header: version must be 2, got ${String(h.version)}`);
  checkUint('payloadType', h.payloadType, 0x7f);
  checkUint('sequenceNumber', h.sequenceNumber, 0xffff);
  checkUint('timestamp', h.timestamp, 0xffffffff);
  checkUint('ssrc', h.ssrc, 0xffffffff);
  if (h.csrcs.length > RTP_MAX_CSRC_COUNT) {
    throw new RangeError(`RTP header: at most 15 CSRCs, got ${h.csrcs.length}`);
  }
  for (const csrc of h.csrcs) checkUint('csrc', csrc, 0xffffffff);
  if (h.extension !== undefined) {
    checkUint('extension.profile', h.extension.profile, 0xffff);
    const bytes = h.extension.data.byteLength;
    if (bytes % 4 !== 0 || bytes / 4 > RTP_EXTENSION_MAX_WORDS) {
      throw new RangeError(
        `RTP header: extension data must be a multiple of 4 bytes up to 262140, got ${bytes}`,
      );
    }
  }
}

function checkUint(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`RTP header: ${field} must be an integer in 0..${max}, got ${value}`);
  }
}

/*
 * RFC 3550 §5.1, padding (P=1): the last octet of the packet counts the padding octets,
 * itself included.
 *
 *    | header | payload ... | padding ... | count |
 */

export type RtpPaddingDecodeResult =
  | { readonly ok: true; readonly paddingBytes: number }
  | { readonly ok: false; readonly reason: 'bad_padding' };

/**
 * The padding length of a whole RTP packet whose header is `headerLengthBytes` long: 0 when P=0.
 * With P=1 the count must be at least 1 and at most the bytes after the header.
 */
export function decodeRtpPadding(packet: Uint8Array, headerLengthBytes: number): RtpPaddingDecodeResult {
  if (packet.byteLength < 1 || (packet[0]! & 0x20) === 0) return { ok: true, paddingBytes: 0 };
  const afterHeader = packet.byteLength - headerLengthBytes;
  if (afterHeader < 1) return { ok: false, reason: 'bad_padding' };
  const count = packet[packet.byteLength - 1]!;
  if (count === 0 || count > afterHeader) return { ok: false, reason: 'bad_padding' };
  return { ok: true, paddingBytes: count };
}
