// The SRTCP trailer (RFC 3711 §3.4): the E flag and 31-bit SRTCP index, the optional MKI, the tag.
// Wire format only: no crypto, no I/O. The MKI is the same as in the stream's SRTP packets (srtp-trailer.ts).

import type { MkiLengthBytes } from './srtp-trailer.js';

export const SRTCP_E_FLAG = 0x8000_0000; // RFC 3711 §3.4, the top bit of the E‖index word
const INDEX_WORD_BYTES = 4;
const CLEAR_HEADER_BYTES = 8; // V/P/RC, PT, length, sender SSRC: never encrypted

/** Sizes fixed by the crypto context, not by the packet. */
export interface SrtcpLayout {
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly authTagBytes: number;
  /** The AEAD tag inside the region (GCM); 0 for AES-CM. */
  readonly cipherOverheadBytes: number;
}

/*
 * RFC 3711 §3.4:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    RC   |   PT=SR or RR   |             length          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         SSRC of sender                        |
 *    +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | ~        sender info, report blocks, further packets ...     ~
 *    +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |E|                         SRTCP index                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    ~                     SRTCP MKI (OPTIONAL)                      ~
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :                     authentication tag                        :
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The "region" (the transform's input) runs from the header to the E‖index word inclusive.
 */

export interface SrtcpParts {
  /** Header to E‖index word: what the tag (or AEAD) covers. A view into the input. */
  readonly region: Uint8Array;
  readonly ssrc: number;
  readonly encrypted: boolean;
  readonly index: number;
  readonly mki: number;
  /** A view into the input. */
  readonly tag: Uint8Array;
}

export type SrtcpDecodeResult =
  | { readonly ok: true; readonly parts: SrtcpParts }
  | { readonly ok: false; readonly reason: 'too_short'; readonly need: number; readonly have: number };

/** The smallest SRTCP packet under `layout`: an 8-byte header and nothing else. */
export function srtcpMinBytes(layout: SrtcpLayout): number {
  return (
    CLEAR_HEADER_BYTES +
    layout.cipherOverheadBytes +
    INDEX_WORD_BYTES +
    layout.mkiLengthBytes +
    layout.authTagBytes
  );
}

/** Splits an SRTCP packet into region, E, index, MKI and tag. Total: never throws. */
export function decodeSrtcp(packet: Uint8Array, layout: SrtcpLayout): SrtcpDecodeResult {
  const need = srtcpMinBytes(layout);
  const have = packet.byteLength;
  if (have < need) return { ok: false, reason: 'too_short', need, have };
  const view = new DataView(packet.buffer, packet.byteOffset, have);
  const regionBytes = have - layout.mkiLengthBytes - layout.authTagBytes;
  const word = view.getUint32(regionBytes - INDEX_WORD_BYTES);
  let mki = 0;
  for (let i = 0; i < layout.mkiLengthBytes; i++) mki = mki * 256 + packet[regionBytes + i]!;
  return {
    ok: true,
    parts: {
      region: packet.subarray(0, regionBytes),
      ssrc: view.getUint32(4),
      encrypted: word >= SRTCP_E_FLAG,
      index: word % SRTCP_E_FLAG,
      mki,
      tag: packet.subarray(regionBytes + layout.mkiLengthBytes),
    },
  };
}
