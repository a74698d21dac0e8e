import { describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import {
  decodeSrtpTrailer,
  encodeSrtpTrailer,
  mkiOfKeyId,
  srtpTrailerSize,
  writeSrtpMki,
  writeSrtpTrailer,
} from '../../src/packet/srtp-trailer.js';
import { hex, toHex } from '../srtp/helpers.js';

describe('SRTP trailer (RFC 3711 §3.1)', () => {
  it('splits MKI and tag off the end; the MKI is big-endian', () => {
    const packet = hex('800f1234decafbadcafebabe aaaa 01020304 00112233445566778899');
    const r = decodeSrtpTrailer(packet, { mkiLengthBytes: 4, authTagBytes: 10 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.trailer.mki).toBe(0x01020304);
    expect(toHex(r.trailer.tag)).toBe('00112233445566778899');
    expect(r.authenticatedLengthBytes).toBe(14);
  });

  it.each([
    [0, 0],
    [1, 0xfe],
    [2, 0xfedc],
    [3, 0xfedcba],
    [4, 0xfedcba98],
  ] as const)('reads a %i-byte MKI', (mkiLengthBytes, mki) => {
    const packet = hex('fedcba98'.slice(0, 2 * mkiLengthBytes) + 'a1a2a3a4');
    const r = decodeSrtpTrailer(packet, { mkiLengthBytes, authTagBytes: 4 });
    expect(r.ok && r.trailer.mki).toBe(mki);
  });

  it('an MKI carries the low bytes of the key id', () => {
    expect(mkiOfKeyId(asKeyId(0x12345678), 0)).toBe(0);
    expect(mkiOfKeyId(asKeyId(0x12345678), 1)).toBe(0x78);
    expect(mkiOfKeyId(asKeyId(0x12345678), 3)).toBe(0x345678);
    expect(mkiOfKeyId(asKeyId(0xfedcba98), 4)).toBe(0xfedcba98);
  });

  it('reports need and have when the packet is shorter than the trailer', () => {
    expect(decodeSrtpTrailer(new Uint8Array(13), { mkiLengthBytes: 4, authTagBytes: 10 })).toEqual({
      ok: false,
      reason: 'too_short',
      need: 14,
      have: 13,
    });
  });

  it('writes MKI then tag', () => {
    const layout = { mkiLengthBytes: 3, authTagBytes: 4 } as const;
    expect(srtpTrailerSize(layout)).toBe(7);
    expect(toHex(encodeSrtpTrailer({ mki: 0x0a0b0c, tag: hex('01020304') }, layout))).toBe('0a0b0c01020304');
    const out = new Uint8Array(9);
    expect(writeSrtpTrailer({ mki: 1, tag: hex('ffffffff') }, layout, out, 2)).toBe(7);
    expect(toHex(out)).toBe('0000000001ffffffff');
  });

  it('throws on an MKI that does not fit and a tag of the wrong length', () => {
    expect(() => writeSrtpMki(256, 1, new Uint8Array(1), 0)).toThrow(
      'writeSrtpMki: MKI 256 does not fit in 1 bytes',
    );
    expect(() =>
      encodeSrtpTrailer({ mki: 0, tag: new Uint8Array(3) }, { mkiLengthBytes: 0, authTagBytes: 4 }),
    ).toThrow('writeSrtpTrailer: tag must be 4 bytes, got 3');
  });
});
