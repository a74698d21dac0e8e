import { describe, expect, it } from 'vitest';
import { asSsrc } from '../../src/ids.js';
import {
  decodeRtpHeader,
  decodeRtpPadding,
  encodeRtpHeader,
  rtpExtensionForm,
  rtpHeaderSize,
  writeRtpHeader,
} from '../../src/packet/rtp-header.js';
import type { RtpHeader } from '../../src/packet/rtp-header.js';
import { hex, toHex } from '../srtp/helpers.js';

const BASE: RtpHeader = {
  version: 2,
  padding: false,
  marker: false,
  payloadType: 15,
  sequenceNumber: 0x1234,
  timestamp: 0xdecafbad,
  ssrc: asSsrc(0xcafebabe),
  csrcs: [],
};

describe('decodeRtpHeader', () => {
  it('decodes the fixed header of RFC 3550 §5.1', () => {
    const r = decodeRtpHeader(hex('800f1234decafbadcafebabe'));
    expect(r).toEqual({ ok: true, header: BASE, headerLengthBytes: 12 });
  });

  it('decodes P, X, CC, M and PT bits', () => {
    // V=2 P=1 X=1 CC=1 | M=1 PT=96 | seq 1 | ts 2 | ssrc 3 | csrc 4 | ext 0xBEDE len 0
    const r = decodeRtpHeader(hex('b1e00001 00000002 00000003 00000004 bede0000'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header.padding).toBe(true);
    expect(r.header.marker).toBe(true);
    expect(r.header.payloadType).toBe(96);
    expect(r.header.csrcs).toEqual([4]);
    expect(r.header.extension?.profile).toBe(0xbede);
    expect(r.header.extension?.data.length).toBe(0);
    expect(r.headerLengthBytes).toBe(20);
  });

  it('a header with CC=2 and a 0xBEDE extension of length 1 is 28 bytes', () => {
    const bytes = hex('920f1234decafbadcafebabe 11111111 22222222 bede0001 10ff0000 aabbcc');
    const r = decodeRtpHeader(bytes);
    expect(r.ok && r.headerLengthBytes).toBe(28);
    if (!r.ok) return;
    expect(r.header.csrcs).toEqual([0x11111111, 0x22222222]);
    expect(r.header.extension?.profile).toBe(0xbede);
    expect(toHex(r.header.extension!.data)).toBe('10ff0000');
  });

  it('keeps an RFC 8285 two-byte extension block intact as opaque bytes', () => {
    const bytes = hex('900f1234decafbadcafebabe 10020002 0102aabb 00000000');
    const r = decodeRtpHeader(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header.extension?.profile).toBe(0x1002);
    expect(rtpExtensionForm(0x1002)).toBe('two_byte');
    expect(rtpExtensionForm(0xbede)).toBe('one_byte');
    expect(rtpExtensionForm(0x2000)).toBe('other');
    expect(toHex(encodeRtpHeader(r.header))).toBe(toHex(bytes));
  });

  it('reads through byteOffset: a header inside a larger buffer', () => {
    const backing = new Uint8Array(64).fill(0xee);
    backing.set(hex('900f1234decafbadcafebabe bede0001 01020304'), 7);
    const view = backing.subarray(7, 7 + 20);
    const r = decodeRtpHeader(view);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header.sequenceNumber).toBe(0x1234);
    expect(r.header.ssrc).toBe(0xcafebabe);
    expect(toHex(r.header.extension!.data)).toBe('01020304');
    // The extension is a view into the input, not a copy.
    expect(r.header.extension!.data.buffer).toBe(backing.buffer);
  });

  it.each([0, 1, 11])('rejects a %i-byte datagram as too_short with need and have', (n) => {
    expect(decodeRtpHeader(new Uint8Array(n).fill(0x80))).toEqual({
      ok: false,
      reason: 'too_short',
      need: 12,
      have: n,
    });
  });

  it.each([0x00, 0x40, 0xc0])('rejects first byte %i (version not 2) as bad_version', (b0) => {
    const bytes = hex('000f1234decafbadcafebabe');
    bytes[0] = b0;
    expect(decodeRtpHeader(bytes)).toEqual({ ok: false, reason: 'bad_version' });
  });

  it('rejects a CC=15 header in 20 bytes', () => {
    const bytes = new Uint8Array(20);
    bytes[0] = 0x8f;
    expect(decodeRtpHeader(bytes)).toEqual({ ok: false, reason: 'bad_header', need: 72, have: 20 });
  });

  it('rejects X=1 with no room for the extension header', () => {
    expect(decodeRtpHeader(hex('900f1234decafbadcafebabe bede'))).toEqual({
      ok: false,
      reason: 'bad_header',
      need: 16,
      have: 14,
    });
  });

  it('rejects an extension length pointing past the end', () => {
    expect(decodeRtpHeader(hex('900f1234decafbadcafebabe bede0003 00000000'))).toEqual({
      ok: false,
      reason: 'bad_header',
      need: 28,
      have: 20,
    });
  });
});

describe('encodeRtpHeader / writeRtpHeader / rtpHeaderSize', () => {
  it('encodes the RFC 3550 fixed header', () => {
    expect(toHex(encodeRtpHeader(BASE))).toBe('800f1234decafbadcafebabe');
    expect(rtpHeaderSize(BASE)).toBe(12);
  });

  it('round-trips CSRCs, marker, padding and an extension', () => {
    const h: RtpHeader = {
      ...BASE,
      padding: true,
      marker: true,
      payloadType: 127,
      csrcs: [asSsrc(1), asSsrc(0xffffffff)],
      extension: { profile: 0xbede, data: hex('12345678abcdef00') },
    };
    const bytes = encodeRtpHeader(h);
    expect(bytes.length).toBe(rtpHeaderSize(h));
    expect(bytes.length).toBe(12 + 8 + 4 + 8);
    const r = decodeRtpHeader(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header).toEqual(h);
  });

  it('writes at an offset and returns the bytes written', () => {
    const out = new Uint8Array(20).fill(0xff);
    expect(writeRtpHeader(BASE, out, 4)).toBe(12);
    expect(toHex(out)).toBe('ffffffff800f1234decafbadcafebabeffffffff');
  });

  it('throws exact messages on programmer misuse', () => {
    expect(() => encodeRtpHeader({ ...BASE, payloadType: 128 })).toThrow(
      'RTP header: payloadType must be an integer in 0..127, got 128',
    );
    expect(() => encodeRtpHeader({ ...BASE, sequenceNumber: 65536 })).toThrow(
      'RTP header: sequenceNumber must be an integer in 0..65535, got 65536',
    );
    expect(() => encodeRtpHeader({ ...BASE, csrcs: new Array(16).fill(asSsrc(1)) })).toThrow(
      'RTP header: at most 15 CSRCs, got 16',
    );
    expect(() =>
      encodeRtpHeader({ ...BASE, extension: { profile: 0xbede, data: new Uint8Array(3) } }),
    ).toThrow('RTP header: extension data must be a multiple of 4 bytes up to 262140, got 3');
    expect(() => writeRtpHeader(BASE, new Uint8Array(12), 1)).toThrow(
      'writeRtpHeader: need 12 bytes at offset 1, buffer has 12',
    );
  });
});

describe('decodeRtpPadding', () => {
  it('is 0 with P=0', () => {
    expect(decodeRtpPadding(hex('800f1234decafbadcafebabe 00'), 12)).toEqual({ ok: true, paddingBytes: 0 });
  });

  it('counts the padding octets, the count included', () => {
    expect(decodeRtpPadding(hex('a00f1234decafbadcafebabe 00010304 0000000005'), 12)).toEqual({
      ok: true,
      paddingBytes: 5,
    });
  });

  it('rejects a count of 0, a count past the header, and P=1 with nothing after the header', () => {
    expect(decodeRtpPadding(hex('a00f1234decafbadcafebabe 0102 00'), 12)).toEqual({
      ok: false,
      reason: 'bad_padding',
    });
    expect(decodeRtpPadding(hex('a00f1234decafbadcafebabe 0102 04'), 12)).toEqual({
      ok: false,
      reason: 'bad_padding',
    });
    expect(decodeRtpPadding(hex('a00f1234decafbadcafebabe'), 12)).toEqual({
      ok: false,
      reason: 'bad_padding',
    });
  });
});
