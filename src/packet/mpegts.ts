// MPEG-TS (ISO/IEC 13818-1) as far as keycast needs it: packet framing and the PCR.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  sync = 0x47  |E|S|T|          PID            |TSC|AFC| CC    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | adaptation field length | flags (PCR_flag = 0x10) | PCR (6 B) ...
//
// PCR = base (33 bits, 90 kHz) * 300 + extension (9 bits): a 27 MHz clock.

export const TS_PACKET_BYTES = 188;
export const TS_SYNC_BYTE = 0x47;
/** RFC 2250 §2: an RTP/MP2T payload carries an integral number of TS packets; 7 fill a 1500-byte MTU. */
export const TS_PACKETS_PER_RTP = 7;
/** RFC 3551 §6: static payload type for MP2T. */
export const RTP_PAYLOAD_TYPE_MP2T = 33;
export const MP2T_CLOCK_HZ = 90_000;
export const PCR_CLOCK_HZ = 27_000_000;
/** The PCR base is 33 bits, so the 27 MHz PCR wraps at 2^33 * 300. */
export const PCR_WRAP = 2 ** 33 * 300;

export function tsPid(packet: Uint8Array, offset = 0): number {
  return ((packet[offset + 1]! & 0x1f) << 8) | packet[offset + 2]!;
}

/**
 * The PCR (27 MHz ticks) of the TS packet at `offset`, or undefined when it carries none.
 * Arithmetic on numbers: the 33-bit base does not fit a JS 32-bit shift.
 */
export function readPcr(bytes: Uint8Array, offset = 0): number | undefined {
  if (bytes.length < offset + TS_PACKET_BYTES || bytes[offset] !== TS_SYNC_BYTE) return undefined;
  const afc = (bytes[offset + 3]! >> 4) & 0x3;
  if ((afc & 0x2) === 0) return undefined;
  const afLength = bytes[offset + 4]!;
  if (afLength < 7) return undefined;
  const flags = bytes[offset + 5]!;
  if ((flags & 0x10) === 0) return undefined;
  const p = offset + 6;
  const base =
    bytes[p]! * 2 ** 25 +
    bytes[p + 1]! * 2 ** 17 +
    bytes[p + 2]! * 2 ** 9 +
    bytes[p + 3]! * 2 +
    (bytes[p + 4]! >> 7);
  const ext = ((bytes[p + 4]! & 0x1) << 8) | bytes[p + 5]!;
  return base * 300 + ext;
}

/** Ticks from `from` to `to` on the 27 MHz PCR clock, across one wrap. */
export function pcrDelta(from: number, to: number): number {
  const d = to - from;
  return d < -PCR_WRAP / 2 ? d + PCR_WRAP : d;
}
