// Valid RTP packets for the fuzz targets, with the fields a mutation should aim at.
import { asSsrc, type Ssrc } from '../src/ids.js';
import { encodeRtpHeader, type RtpHeader } from '../src/packet/rtp-header.js';
import { concat, type Field } from './mutate.js';
import type { Prng } from './prng.js';

export interface RtpPacketSpec {
  readonly ssrc: Ssrc;
  readonly seq: number;
  readonly maxPayloadBytes: number;
}

/** A random valid RTP packet: CSRCs, an extension (RFC 8285 forms or other), padding, all sometimes. */
export function randomRtpPacket(rng: Prng, spec: RtpPacketSpec): Uint8Array {
  const paddingBytes = rng.chance(0.15) ? rng.between(1, 255) : 0;
  const extensionWords = rng.between(0, 4);
  const header: RtpHeader = {
    version: 2,
    padding: paddingBytes > 0,
    marker: rng.chance(0.1),
    payloadType: rng.chance(0.8) ? 33 : rng.below(128),
    sequenceNumber: spec.seq,
    timestamp: rng.u32(),
    ssrc: spec.ssrc,
    csrcs: rng.chance(0.2) ? Array.from({ length: rng.between(1, 15) }, () => asSsrc(rng.u32())) : [],
    ...(rng.chance(0.25)
      ? {
          extension: {
            profile: rng.pick([0xbede, 0x1000 | rng.below(16), rng.below(0x10000)]),
            data: rng.bytes(4 * extensionWords),
          },
        }
      : {}),
  };
  const payload = rng.bytes(rng.smallLength(spec.maxPayloadBytes));
  const padding = new Uint8Array(paddingBytes);
  if (paddingBytes > 0) padding[paddingBytes - 1] = paddingBytes;
  return concat(encodeRtpHeader(header), payload, padding);
}

/** The header fields of a valid RTP packet `p` (as made above), and its last byte (the padding count). */
export function rtpFields(p: Uint8Array): Field[] {
  const cc = p[0]! & 0x0f;
  const fields: Field[] = [
    { name: 'version', offset: 0, lengthBytes: 1, mask: 0xc0, values: [0, 1, 3] },
    { name: 'padding', offset: 0, lengthBytes: 1, mask: 0x20 },
    { name: 'extension', offset: 0, lengthBytes: 1, mask: 0x10 },
    { name: 'csrcCount', offset: 0, lengthBytes: 1, mask: 0x0f, values: [0, 1, 14, 15] },
    { name: 'sequenceNumber', offset: 2, lengthBytes: 2, values: [0, 0x7fff, 0x8000, 0xffff] },
    { name: 'ssrc', offset: 8, lengthBytes: 4 },
    { name: 'paddingCount', offset: p.length - 1, lengthBytes: 1, values: [0, 1, 255] },
  ];
  if ((p[0]! & 0x10) !== 0) {
    const at = 12 + 4 * cc;
    fields.push(
      { name: 'extensionProfile', offset: at, lengthBytes: 2, values: [0xbede, 0x1000, 0x100f] },
      { name: 'extensionLength', offset: at + 2, lengthBytes: 2, values: [0, 1, 0xffff] },
    );
  }
  return fields;
}
