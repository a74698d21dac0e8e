// The interface every SRTP protection profile implements for SRTCP (RFC 3711 §3.4, RFC 7714 §9). src/srtp/
// sees only this. The transform owns the suite's layout of the protected region; the SRTCP layer owns the
// index, the E bit, the MKI, key choice and replay.
//
// Packet layouts (the "region" is what the transform writes and reads: from the RTCP header up to and
// including the 32-bit E‖SRTCP-index word):
//
//   AES-CM + HMAC-SHA1: | header (8) | encrypted rest | E‖index (4) | MKI | tag (10) |
//                       |<----------------- region -------------------->|
//   AEAD (GCM):         | header (8) | ciphertext | AEAD tag (16) | E‖index (4) | MKI |
//                       |<----------------------- region ------------------->|
//
// With E = 0, AES-CM leaves the rest in the clear; GCM authenticates it as associated data and still
// appends its 16-byte tag (RFC 7714 §9.2).

/** Bytes of the SRTCP header kept in the clear: V/P/RC, PT, length and the sender SSRC (RFC 3711 §3.4). */
export const SRTCP_CLEAR_HEADER_BYTES = 8;
/** The E flag and 31-bit SRTCP index word. */
export const SRTCP_INDEX_WORD_BYTES = 4;
/** RFC 3711 §3.4: the SRTCP index is 31 bits. */
export const SRTCP_MAX_INDEX = 0x7fff_ffff;

export interface SrtcpTransform {
  /** Bytes the cipher adds inside the region (the AEAD tag); 0 for AES-CM. */
  readonly cipherOverheadBytes: number;
  /** Bytes of the tag after the MKI (AES-CM: the HMAC tag); 0 for AEAD. */
  readonly authTagBytes: number;
  /**
   * Protects one compound RTCP packet. Writes the region into `regionOut` (exactly
   * rtcp.length + cipherOverheadBytes + 4 bytes, the E‖index word last) and the tag into `tagOut`
   * (exactly authTagBytes bytes). `encrypt` is the E bit; `index` the 31-bit SRTCP index.
   */
  protect(
    rtcp: Uint8Array,
    ssrc: number,
    index: number,
    encrypt: boolean,
    regionOut: Uint8Array,
    tagOut: Uint8Array,
  ): void;
  /**
   * Verifies, then decrypts. `region` is as received (E‖index word last; the caller has read E and
   * the index from it), `tag` the bytes after the MKI. On success writes the RTCP compound packet into
   * `out` (exactly region.length - cipherOverheadBytes - 4 bytes) and returns true; on failure returns
   * false and `out` is garbage. Never writes to its inputs; never throws on bad input.
   */
  unprotect(
    region: Uint8Array,
    ssrc: number,
    index: number,
    encrypted: boolean,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /** Overwrites the session keys with zeros; any later protect/unprotect throws. */
  zeroize(): void;
}
