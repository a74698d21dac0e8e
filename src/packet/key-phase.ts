// How a packet signals a key change (claims 25–29). Wire format only: no crypto, no I/O.
//
//   mki   — the SRTP MKI after the payload carries the key id's low bytes (claims 25–28, RFC 3711 §3.1).
//   phase — the RTP padding bit carries the key id's low bit, the key phase; no bytes are added (claim 29).
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |V=2|P|X|  CC   |   in phase mode P on the wire is the key phase; the packet's own P bit is covered by the
//   +-+-+-+-+-+-+-+-+   tag and restored by the receiver (docs/key-phase.md)

import type { KeyId } from '../ids.js';

export const KEY_CHANGE_MODES = ['mki', 'phase'] as const;
export type KeyChangeMode = (typeof KEY_CHANGE_MODES)[number];
export const DEFAULT_KEY_CHANGE: KeyChangeMode = 'mki';

export type KeyPhase = 0 | 1;

export const RTP_PADDING_BIT = 0x20; // RFC 3550 §5.1, P in the first octet

export function isKeyChangeMode(s: string): s is KeyChangeMode {
  return (KEY_CHANGE_MODES as readonly string[]).includes(s);
}

/** The phase that names `keyId`: its low bit, as the MKI names it by its low bytes. */
export function keyPhaseOf(keyId: KeyId): KeyPhase {
  return keyId % 2 === 0 ? 0 : 1;
}

/** The P bit of an RTP (or SRTP) packet's first octet; 0 for an empty input. */
export function readPaddingBit(packet: Uint8Array): KeyPhase {
  return packet.byteLength > 0 && (packet[0]! & RTP_PADDING_BIT) !== 0 ? 1 : 0;
}

/** Sets the P bit of `packet` (in place) to `bit`. The caller owns `packet`. */
export function writePaddingBit(packet: Uint8Array, bit: KeyPhase): void {
  if (packet.byteLength === 0) throw new RangeError('writePaddingBit: empty packet');
  packet[0] = (packet[0]! & ~RTP_PADDING_BIT) | (bit === 1 ? RTP_PADDING_BIT : 0);
}
