// The SRTP trailer (RFC 3711 §3.1): the optional MKI, then the authentication tag.
// Wire format only: no crypto, no I/O. The MKI carries the low `mkiLengthBytes` bytes of the
// content key id, big-endian (src/ids.ts, KeyId).

import type { KeyId } from '../ids.js';

export const SRTP_MAX_MKI_BYTES = 4; // keycast: the MKI carries at most a u32 key id

export type MkiLengthBytes = 0 | 1 | 2 | 3 | 4;

/** The sizes that fix where the trailer starts: both are set by the crypto context, not the packet. */
export interface SrtpTrailerLayout {
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly authTagBytes: number;
}

export interface SrtpTrailer {
  /** The MKI as an unsigned number (0 when the MKI length is 0). */
  readonly mki: number;
  /** The authentication tag: a view into the input on decode. */
  readonly tag: Uint8Array;
}

export type SrtpTrailerDecodeResult =
  | {
      readonly ok: true;
      readonly trailer: SrtpTrailer;
      /** Bytes before the MKI: header and encrypted portion, i.e. what the tag authenticates. */
      readonly authenticatedLengthBytes: number;
    }
  | { readonly ok: false; readonly reason: 'too_short'; readonly need: number; readonly have: number };

/** The MKI that names `keyId` in `mkiLengthBytes` bytes: its low bytes. */
export function mkiOfKeyId(keyId: KeyId, mkiLengthBytes: MkiLengthBytes): number {
  return keyId % 256 ** mkiLengthBytes;
}

export function srtpTrailerSize(layout: SrtpTrailerLayout): number {
  return layout.mkiLengthBytes + layout.authTagBytes;
}

/*
 * RFC 3711 §3.1, the end of an SRTP packet:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 ... encrypted portion ...                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    ~                     SRTP MKI (OPTIONAL)                       ~
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :                 authentication tag (RECOMMENDED)              :
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The tag covers the header and the encrypted portion, not the MKI.
 */

/** Splits the trailer off the end of `packet`. Total: never throws; too short returns need/have. */
export function decodeSrtpTrailer(packet: Uint8Array, layout: SrtpTrailerLayout): SrtpTrailerDecodeResult {
  const have = packet.byteLength;
  const need = srtpTrailerSize(layout);
  if (have < need) return { ok: false, reason: 'too_short', need, have };
  const mkiAt = have - need;
  let mki = 0;
  for (let i = 0; i < layout.mkiLengthBytes; i++) mki = mki * 256 + packet[mkiAt + i]!;
  const tag = packet.subarray(mkiAt + layout.mkiLengthBytes, have);
  return { ok: true, trailer: { mki, tag }, authenticatedLengthBytes: mkiAt };
}

/** Writes the MKI alone (the tag is written by the transform). Returns the bytes written. */
export function writeSrtpMki(
  mki: number,
  mkiLengthBytes: MkiLengthBytes,
  out: Uint8Array,
  offset: number,
): number {
  if (!Number.isInteger(mki) || mki < 0 || mki >= 256 ** mkiLengthBytes) {
    throw new RangeError(`writeSrtpMki: MKI ${mki} does not fit in ${mkiLengthBytes} bytes`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + mkiLengthBytes > out.byteLength) {
    throw new RangeError(
      `writeSrtpMki: need ${mkiLengthBytes} bytes at offset ${offset}, buffer has ${out.byteLength}`,
    );
  }
  let rest = mki;
  for (let i = mkiLengthBytes - 1; i >= 0; i--) {
    out[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return mkiLengthBytes;
}

/** Writes MKI then tag; returns the bytes written. */
export function writeSrtpTrailer(
  t: SrtpTrailer,
  layout: SrtpTrailerLayout,
  out: Uint8Array,
  offset: number,
): number {
  if (t.tag.byteLength !== layout.authTagBytes) {
    throw new RangeError(
      `writeSrtpTrailer: tag must be ${layout.authTagBytes} bytes, got ${t.tag.byteLength}`,
    );
  }
  const size = srtpTrailerSize(layout);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > out.byteLength) {
    throw new RangeError(
      `writeSrtpTrailer: need ${size} bytes at offset ${offset}, buffer has ${out.byteLength}`,
    );
  }
  writeSrtpMki(t.mki, layout.mkiLengthBytes, out, offset);
  out.set(t.tag, offset + layout.mkiLengthBytes);
  return size;
}

/** Encodes the trailer into a new buffer. */
export function encodeSrtpTrailer(t: SrtpTrailer, layout: SrtpTrailerLayout): Uint8Array {
  const out = new Uint8Array(srtpTrailerSize(layout));
  writeSrtpTrailer(t, layout, out, 0);
  return out;
}
