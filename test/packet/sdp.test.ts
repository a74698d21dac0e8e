// RFC 4568 a=crypto and the SDP subset keycast reads and writes: round trips, the forms peers write, and clear
// refusals (never a thrown exception, never the key in the message).
import { describe, expect, it } from 'vitest';
import { decodeSdp, decodeSdpCrypto, encodeMpegTsSrtpSdp, encodeSdpCrypto } from '../../src/packet/sdp.js';

const KEY = Uint8Array.from({ length: 30 }, (_, i) => i);
const KEY64 = Buffer.from(KEY).toString('base64');

describe('a=crypto (RFC 4568 §9.1)', () => {
  it('round-trips several keys with lifetime and MKI', () => {
    const c = {
      tag: 1,
      suite: 'AES_CM_128_HMAC_SHA1_80',
      keys: [
        { keySalt: KEY, lifetimePackets: 2 ** 31, mki: { value: 1, lengthBytes: 4 as const } },
        {
          keySalt: KEY.map((b) => b ^ 0xff),
          lifetimePackets: 2 ** 31,
          mki: { value: 2, lengthBytes: 4 as const },
        },
      ],
    };
    const line = encodeSdpCrypto(c);
    expect(line).toBe(
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}|2^31|1:4;inline:${Buffer.from(c.keys[1]!.keySalt).toString('base64')}|2^31|2:4`,
    );
    const d = decodeSdpCrypto(line);
    expect(d).toEqual({ ok: true, value: c });
  });

  it('reads the RFC 4568 example form and a key with only an MKI', () => {
    const d = decodeSdpCrypto(`a=crypto:7 AEAD_AES_128_GCM inline:${KEY64}|1066:4 WSH=64`);
    expect(d.ok && d.value.keys[0]).toEqual({ keySalt: KEY, mki: { value: 1066, lengthBytes: 4 } });
    const plain = decodeSdpCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}`);
    expect(plain.ok && plain.value.keys[0]).toEqual({ keySalt: KEY });
  });

  it.each([
    ['2 fields', `a=crypto:1 AES_CM_128_HMAC_SHA1_80`, /needs/],
    ['bad tag', `a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:${KEY64}`, /tag/],
    ['not inline', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 uri:${KEY64}`, /inline/],
    ['bad base64', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ab$d`, /base64/],
    ['bad lifetime', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}|2^60`, /2\^48/],
    ['MKI too long for keycast', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}|1:5`, /keycast/],
    ['MKI too big', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}|256:1`, /does not fit/],
    ['two keys without MKI', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64};inline:${KEY64}`, /MKI/],
    [
      'same MKI twice',
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64}|1:1;inline:${KEY64}|1:1`,
      /same MKI/,
    ],
    [
      'unencrypted',
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64} UNENCRYPTED_SRTP`,
      /UNENCRYPTED_SRTP/,
    ],
    ['KDR', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY64} KDR=24`, /derivation rate/],
  ])('refuses %s with a reason that does not show the key', (_name, line, reason) => {
    const d = decodeSdpCrypto(line);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(reason);
      expect(d.reason).not.toContain(KEY64);
    }
  });

  it('is total on random strings', () => {
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: i % 80 }, () =>
        String.fromCharCode(32 + ((i * 7919 + Math.imul(i, 31)) % 95)),
      ).join('');
      expect(() => decodeSdpCrypto(`a=crypto:${s}`)).not.toThrow();
      expect(() => decodeSdp(`v=0\nm=video 1 RTP/SAVP 33\na=crypto:${s}\n${s}`)).not.toThrow();
    }
  });
});

describe('SDP for an SRTP MP2T stream', () => {
  const crypto = { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keys: [{ keySalt: KEY }] };

  it('writes a disabled first section for ffmpeg, and reads back the enabled one', () => {
    const text = encodeMpegTsSrtpSdp({
      sessionName: 'p',
      address: '239.255.1.2',
      port: 5004,
      ssrcs: [4660],
      crypto,
      ffmpegCompatible: true,
    });
    expect(text).toContain('c=IN IP4 239.255.1.2/0\r\n');
    expect(text.indexOf('m=application 0 ')).toBeLessThan(text.indexOf('m=video 5004 RTP/SAVP 33'));
    const d = decodeSdp(text);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const [dummy, media] = d.value.media;
    expect(dummy!.port).toBe(0);
    expect(media).toMatchObject({ port: 5004, proto: 'RTP/SAVP', address: '239.255.1.2', ssrcs: [4660] });
    expect(media!.rtpmaps).toEqual(['33 MP2T/90000']);
    expect(media!.cryptos).toEqual([crypto]);
  });

  it('names the line of a malformed c=, m= or a=crypto', () => {
    expect(decodeSdp('v=0\nc=IN IP4 nowhere\n')).toMatchObject({ ok: false, reason: /line 2: c=/ });
    expect(decodeSdp('v=0\nm=video x RTP/SAVP 33\n')).toMatchObject({ ok: false, reason: /line 2: m=/ });
    expect(decodeSdp('v=0\nm=video 1 RTP/SAVP 33\na=crypto:1 X inline:@@\n')).toMatchObject({
      ok: false,
      reason: /line 3: a=crypto/,
    });
  });

  it('echoes a bad line escaped and cut short: no control characters reach a terminal', () => {
    const d = decodeSdp(`v=0\n\x1b[2J\x07${'x'.repeat(300)}\n`);
    expect(d.ok).toBe(false);
    const reason = d.ok ? '' : d.reason;
    expect(reason).toMatch(/^SDP line 2: expected "<type>=<value>", got "\\u001b\[2J\\u0007x+…"$/);
    expect(reason.length).toBeLessThan(160);
    // eslint-disable-next-line no-control-regex
    expect(reason).not.toMatch(/[\x00-\x1f]/);
  });
});
