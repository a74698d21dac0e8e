// The SRTP packet index (RFC 3711 §3.3.1) and its estimation from a 16-bit sequence number
// (RFC 3711 Appendix A). All on numbers: the index is 48 bits, beyond JavaScript's 32-bit shifts.

export const SEQ_MODULUS = 0x1_0000; // RFC 3711 §3.3.1, i = 2^16 * ROC + SEQ
export const ROC_MODULUS = 0x1_0000_0000; // RFC 3711 §3.3.1, the ROC is 32 bits
export const SRTP_MAX_INDEX = 2 ** 48 - 1; // RFC 3711 §3.3.1, the index is 48 bits
const HALF_SEQ = 0x8000; // RFC 3711 Appendix A, 2^15

export function srtpIndex(roc: number, seq: number): number {
  return roc * SEQ_MODULUS + seq;
}

export function rocOfIndex(index: number): number {
  return Math.floor(index / SEQ_MODULUS);
}

export function seqOfIndex(index: number): number {
  return index % SEQ_MODULUS;
}

/**
 * RFC 3711 Appendix A: the index of a packet with sequence number `seq`, given the highest index
 * accepted so far (s_l and ROC), or `undefined` for a stream not yet seen (ROC 0, seq taken as is).
 *
 *   if s_l < 2^15:  v = ROC - 1 if SEQ - s_l > 2^15,  else ROC
 *   else:           v = ROC + 1 if s_l - 2^15 > SEQ,  else ROC
 *   i = 2^16 * v + SEQ
 *
 * The result may be negative (v = -1 at ROC 0) or above 2^48 - 1 (v = 2^32): the caller refuses both.
 */
export function estimateSrtpIndex(highestIndex: number | undefined, seq: number): number {
  if (highestIndex === undefined) return seq;
  const roc = rocOfIndex(highestIndex);
  const lastSeq = seqOfIndex(highestIndex);
  let v = roc;
  if (lastSeq < HALF_SEQ) {
    if (seq - lastSeq > HALF_SEQ) v = roc - 1;
  } else if (lastSeq - HALF_SEQ > seq) {
    v = roc + 1;
  }
  return srtpIndex(v, seq);
}

export function isValidSrtpIndex(index: number): boolean {
  return Number.isInteger(index) && index >= 0 && index <= SRTP_MAX_INDEX;
}
