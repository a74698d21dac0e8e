// Types shared by the SRTP sender and receiver.

import type { KeyId } from '../ids.js';

export type { MkiLengthBytes } from '../packet/srtp-trailer.js';

/** One SRTP master key and salt (RFC 3711 §3.2.1), named by the content key id its MKI carries. */
export interface SrtpMasterKey {
  readonly keyId: KeyId;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
}

/**
 * Why a packet was refused. Before the key lookup: too_short, bad_version, bad_header,
 * unknown_key. After it, anything a forger can cause is auth_fail; replay and bad_padding are
 * reported only for packets that authenticated, so no reason tells a forger anything.
 * key_exhausted is the sender's: the 48-bit index or the key's packet budget is used up.
 */
export type SrtpRejectReason =
  | 'too_short'
  | 'bad_version'
  | 'bad_header'
  | 'unknown_key'
  | 'auth_fail'
  | 'replay'
  | 'bad_padding'
  | 'key_exhausted';

/** Per-SSRC state: the rollover counter and the highest sequence number seen (RFC 3711 §3.3.1). */
export interface SrtpStreamState {
  readonly roc: number;
  readonly lastSeq: number;
}
