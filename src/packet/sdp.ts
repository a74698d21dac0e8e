// SDP (RFC 4566) for one SRTP/MP2T stream, and its SDES `a=crypto` attribute (RFC 4568 §9.1).
// Wire format only: no crypto, no I/O. Only the subset keycast writes and standard peers (ffmpeg,
// GStreamer) write is understood; anything that would change how the stream is protected and that
// keycast does not implement is refused with a clear reason, never silently ignored.
//
// RFC 4568 §9.1 (the parts used here):
//
//   a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
//   key-params = key-param *(";" key-param)
//   key-param  = "inline:" key-salt ["|" lifetime] ["|" mki]     ; key-salt: base64 of key ‖ salt
//   lifetime   = ["2^"] 1*DIGIT                                   ; packets under this key
//   mki        = mki-value ":" mki-length                         ; decimal value, length in bytes (1..128)

import type { MkiLengthBytes } from './srtp-trailer.js';

/** One SDES key: the master key ‖ salt bytes and, when the stream carries one, the MKI naming it. */
export interface SdpCryptoKey {
  /** Master key followed by master salt (the profile says where one ends). */
  readonly keySalt: Uint8Array;
  /** Packets the key may protect, when given (`|2^31` → 2147483648). */
  readonly lifetimePackets?: number;
  readonly mki?: { readonly value: number; readonly lengthBytes: Exclude<MkiLengthBytes, 0> };
}

export interface SdpCrypto {
  readonly tag: number;
  /** The crypto-suite name, e.g. AES_CM_128_HMAC_SHA1_80 or AEAD_AES_128_GCM (RFC 7714 §12). */
  readonly suite: string;
  readonly keys: readonly SdpCryptoKey[];
}

export type SdpDecodeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** keycast's MKI is a key id of at most 4 bytes (srtp-trailer.ts); RFC 4568 allows up to 128. */
const MAX_MKI_BYTES = 4;
/** Session parameters (RFC 4568 §6.3) that would change the protection: refused, never ignored. */
const REFUSED_SESSION_PARAMS = [
  'UNENCRYPTED_SRTP',
  'UNENCRYPTED_SRTCP',
  'UNAUTHENTICATED_SRTP',
  'FEC_ORDER',
  'FEC_KEY',
];

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Parses the value of one `a=crypto:` attribute (with or without the `a=crypto:` prefix). Total: never throws. */
export function decodeSdpCrypto(line: string): SdpDecodeResult<SdpCrypto> {
  const text = line.trim().replace(/^a=crypto:/, '');
  const fields = text.split(/[ \t]+/);
  if (fields.length < 3) return fail(`a=crypto needs "<tag> <suite> inline:<key>", got "${redact(text)}"`);
  const [tagText, suite, keyParams, ...sessionParams] = fields as [string, string, string, ...string[]];
  if (!/^\d{1,9}$/.test(tagText)) return fail(`a=crypto tag must be 1 to 9 digits, got "${tagText}"`);
  if (!/^[A-Za-z0-9_]+$/.test(suite)) return fail(`a=crypto suite "${suite}" is not a crypto-suite name`);
  for (const p of sessionParams) {
    const name = p.split('=')[0]!;
    if (REFUSED_SESSION_PARAMS.includes(name))
      return fail(`a=crypto session parameter ${name} is not supported`);
    if (name === 'KDR' && p !== 'KDR=0')
      return fail(`a=crypto key derivation rate ${p} is not supported (only 0)`);
  }
  const keys: SdpCryptoKey[] = [];
  for (const param of keyParams.split(';')) {
    const key = decodeKeyParam(param);
    if (!key.ok) return key;
    keys.push(key.value);
  }
  const mkiLengths = new Set(keys.map((k) => k.mki?.lengthBytes ?? 0));
  if (mkiLengths.size > 1) return fail('a=crypto keys must all have an MKI of the same length, or none');
  if (keys.length > 1 && mkiLengths.has(0)) return fail('a=crypto with several keys needs an MKI on each');
  const mkis = keys.map((k) => k.mki?.value);
  if (new Set(mkis).size !== mkis.length) return fail('a=crypto names the same MKI twice');
  return { ok: true, value: { tag: Number(tagText), suite, keys } };
}

function decodeKeyParam(param: string): SdpDecodeResult<SdpCryptoKey> {
  if (!param.startsWith('inline:'))
    return fail(`a=crypto key method must be "inline:", got "${param.split(':')[0]!.slice(0, 16)}:"`);
  const [keySalt64 = '', ...rest] = param.slice('inline:'.length).split('|');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keySalt64) || keySalt64.length % 4 !== 0)
    return fail('a=crypto inline key is not base64');
  const keySalt = Uint8Array.from(Buffer.from(keySalt64, 'base64'));
  if (rest.length > 2) return fail('a=crypto inline key has more than a lifetime and an MKI after it');
  let lifetimePackets: number | undefined;
  let mki: SdpCryptoKey['mki'];
  for (const part of rest) {
    if (part.includes(':')) {
      if (mki !== undefined) return fail('a=crypto inline key has two MKIs');
      const m = decodeMki(part);
      if (!m.ok) return m;
      mki = m.value;
    } else {
      if (lifetimePackets !== undefined || mki !== undefined)
        return fail('a=crypto lifetime must come once, before the MKI');
      const l = /^(2\^)?(\d{1,15})$/.exec(part);
      if (l === null) return fail(`a=crypto lifetime must be N or 2^N, got "${part}"`);
      const n = Number(l[2]);
      if (l[1] !== undefined && n > 48) return fail(`a=crypto lifetime 2^${n} exceeds SRTP's 2^48`);
      lifetimePackets = l[1] === undefined ? n : 2 ** n;
    }
  }
  return {
    ok: true,
    value: {
      keySalt,
      ...(lifetimePackets !== undefined && { lifetimePackets }),
      ...(mki !== undefined && { mki }),
    },
  };
}

function decodeMki(part: string): SdpDecodeResult<NonNullable<SdpCryptoKey['mki']>> {
  const m = /^(\d{1,10}):(\d{1,3})$/.exec(part);
  if (m === null) return fail(`a=crypto MKI must be "value:length" in decimal, got "${part}"`);
  const value = Number(m[1]);
  const lengthBytes = Number(m[2]);
  if (lengthBytes < 1 || lengthBytes > 128)
    return fail(`a=crypto MKI length must be 1..128, got ${lengthBytes}`);
  if (lengthBytes > MAX_MKI_BYTES)
    return fail(`a=crypto MKI length ${lengthBytes} is longer than keycast's ${MAX_MKI_BYTES} bytes`);
  if (value >= 256 ** lengthBytes) return fail(`a=crypto MKI ${value} does not fit in ${lengthBytes} bytes`);
  return { ok: true, value: { value, lengthBytes: lengthBytes as Exclude<MkiLengthBytes, 0> } };
}

/** The attribute line `a=crypto:...` for `c`. Throws on a programming error (a bad tag, suite or MKI). */
export function encodeSdpCrypto(c: SdpCrypto): string {
  if (!Number.isInteger(c.tag) || c.tag < 0 || c.tag > 999_999_999)
    throw new RangeError(`bad a=crypto tag ${c.tag}`);
  if (!/^[A-Za-z0-9_]+$/.test(c.suite)) throw new RangeError(`bad crypto-suite name ${c.suite}`);
  if (c.keys.length === 0) throw new RangeError('a=crypto needs at least one key');
  const params = c.keys.map((k) => {
    let p = `inline:${Buffer.from(k.keySalt).toString('base64')}`;
    if (k.lifetimePackets !== undefined) p += `|${lifetimeText(k.lifetimePackets)}`;
    if (k.mki !== undefined) {
      if (!Number.isInteger(k.mki.value) || k.mki.value < 0 || k.mki.value >= 256 ** k.mki.lengthBytes)
        throw new RangeError(`MKI ${k.mki.value} does not fit in ${k.mki.lengthBytes} bytes`);
      p += `|${k.mki.value}:${k.mki.lengthBytes}`;
    }
    return p;
  });
  return `a=crypto:${c.tag} ${c.suite} ${params.join(';')}`;
}

function lifetimeText(n: number): string {
  const log2 = Math.log2(n);
  return Number.isInteger(log2) ? `2^${log2}` : String(n);
}

/** The media section that carries the stream. */
export interface SdpMedia {
  readonly media: string;
  /** 0 means the section is disabled (RFC 3264 §5.1). */
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly string[];
  /** The c= address of the section, else the session's; undefined when neither has one. */
  readonly address: string | undefined;
  readonly rtpmaps: readonly string[];
  readonly ssrcs: readonly number[];
  readonly cryptos: readonly SdpCrypto[];
}

export interface SdpSession {
  readonly address: string | undefined;
  readonly media: readonly SdpMedia[];
}

/**
 * Parses an SDP description into its media sections. Lines this module does not need are skipped;
 * a malformed line it needs (c=, m=, a=crypto, a=ssrc) is an error naming the line number.
 */
export function decodeSdp(text: string): SdpDecodeResult<SdpSession> {
  const lines = text.split(/\r?\n/);
  let sessionAddress: string | undefined;
  const media: { -readonly [K in keyof SdpMedia]: SdpMedia[K] }[] = [];
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const at = `SDP line ${i + 1}`;
    if (!/^[a-z]=/.test(line)) return fail(`${at}: expected "<type>=<value>", got "${redact(line)}"`);
    const current = media.at(-1);
    if (line.startsWith('c=')) {
      const c = /^c=IN IP[46] ([0-9A-Fa-f.:]+)(\/\d+){0,2}$/.exec(line);
      if (c === null) return fail(`${at}: c= must be "IN IP4 <address>[/ttl]", got "${redact(line)}"`);
      if (current === undefined) sessionAddress = c[1];
      else current.address = c[1];
    } else if (line.startsWith('m=')) {
      const m = /^m=(\w+) (\d{1,5})(?:\/\d+)? ([\w/]+)((?: \S+)+)$/.exec(line);
      if (m === null || Number(m[2]) > 65535)
        return fail(`${at}: m= must be "<media> <port> <proto> <fmt>...", got "${redact(line)}"`);
      media.push({
        media: m[1]!,
        port: Number(m[2]),
        proto: m[3]!,
        formats: m[4]!.trim().split(' '),
        address: sessionAddress,
        rtpmaps: [],
        ssrcs: [],
        cryptos: [],
      });
    } else if (current !== undefined && line.startsWith('a=crypto:')) {
      const c = decodeSdpCrypto(line);
      if (!c.ok) return fail(`${at}: ${c.reason}`);
      current.cryptos = [...current.cryptos, c.value];
    } else if (current !== undefined && line.startsWith('a=ssrc:')) {
      const s = /^a=ssrc:(\d{1,10})(?: |$)/.exec(line);
      if (s === null || Number(s[1]) > 0xffffffff)
        return fail(`${at}: a=ssrc must start with a 32-bit number`);
      if (!current.ssrcs.includes(Number(s[1]))) current.ssrcs = [...current.ssrcs, Number(s[1])];
    } else if (current !== undefined && line.startsWith('a=rtpmap:')) {
      current.rtpmaps = [...current.rtpmaps, line.slice('a=rtpmap:'.length)];
    }
  }
  return { ok: true, value: { address: sessionAddress, media } };
}

/** A session description for one SRTP stream of RTP/MP2T (payload type 33, RFC 3551). */
export interface MpegTsSrtpSdp {
  readonly sessionName: string;
  readonly address: string;
  /** Multicast TTL for the c= line of an IPv4 group (RFC 4566 §5.7). */
  readonly ttl?: number;
  readonly port: number;
  /** The SSRCs the keys were used with (a=ssrc, RFC 5576). */
  readonly ssrcs: readonly number[];
  readonly crypto: SdpCrypto;
  /**
   * Put a disabled (port 0) media section first. ffmpeg (5.1) ignores a=crypto in a section until it has
   * created a stream, and an MP2T section creates none: without a section before it, ffmpeg reads the
   * stream unencrypted and fails. A port-0 section is one every SDP reader must skip (RFC 3264 §5.1).
   */
  readonly ffmpegCompatible: boolean;
}

/** RFC 3551: the static RTP payload type of MPEG-2 TS. */
export const RTP_PAYLOAD_TYPE_MP2T_SDP = 33;

export function encodeMpegTsSrtpSdp(d: MpegTsSrtpSdp): string {
  const ip = d.address.includes(':') ? 'IP6' : 'IP4';
  const ttl = ip === 'IP4' && isMulticastV4(d.address) ? `/${d.ttl ?? 0}` : '';
  const lines = [
    'v=0',
    `o=- 0 0 IN ${ip} ${d.address}`,
    `s=${d.sessionName.replace(/[\r\n]/g, ' ')}`,
    `c=IN ${ip} ${d.address}${ttl}`,
    't=0 0',
    ...(d.ffmpegCompatible ? ['m=application 0 RTP/AVP 96'] : []),
    `m=video ${d.port} RTP/SAVP ${RTP_PAYLOAD_TYPE_MP2T_SDP}`,
    `a=rtpmap:${RTP_PAYLOAD_TYPE_MP2T_SDP} MP2T/90000`,
    ...d.ssrcs.map((ssrc) => `a=ssrc:${ssrc} cname:keycast`),
    encodeSdpCrypto(d.crypto),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function isMulticastV4(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return /^\d+\.\d+\.\d+\.\d+$/.test(address) && first >= 224 && first <= 239;
}

/** Never echo key material into an error message: inline keys are cut out. */
/** A line as it may be echoed in an error: keys cut out, control characters escaped, at most 80 characters. */
function redact(text: string): string {
  const safe = JSON.stringify(text.replace(/inline:[^\s;|]*/g, 'inline:…')).slice(1, -1);
  return safe.length > 80 ? `${safe.slice(0, 80)}…` : safe;
}
