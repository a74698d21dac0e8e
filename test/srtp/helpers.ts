// Test helpers for the SRTP stack: packet builders, keys, the vectors on disk, and an independent
// reference SRTP (AES-CM + HMAC-SHA1) written straight from RFC 3711 with BigInt arithmetic, so
// tests can check the library's bytes without trusting its own code.

import { createCipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { asKeyId, asSsrc } from '../../src/ids.js';
import type { KeyId, Ssrc } from '../../src/ids.js';
import { encodeRtpHeader } from '../../src/packet/rtp-header.js';
import type { RtpHeaderExtension } from '../../src/packet/rtp-header.js';
import { SRTP_PROFILES, SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import type { MkiLengthBytes, SrtpMasterKey, SrtpProfileName } from '../../src/srtp/index.js';

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function loadVector<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8')) as T;
}

export const SSRC: Ssrc = asSsrc(0xcafebabe);

/** A master key whose bytes are derived from its id, so two ids never share material; sized for `profile`. */
export function testKey(id: number, profile: SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80'): SrtpMasterKey {
  const { masterKeyBytes, masterSaltBytes } = SRTP_PROFILES[profile];
  const masterKey = new Uint8Array(masterKeyBytes).map((_, i) => (id * 31 + i * 7 + 1) & 0xff);
  const masterSalt = new Uint8Array(masterSaltBytes).map((_, i) => (id * 17 + i * 13 + 5) & 0xff);
  return { keyId: asKeyId(id), masterKey, masterSalt };
}

export interface RtpSpec {
  readonly seq: number;
  readonly ssrc?: Ssrc;
  readonly payload?: Uint8Array;
  readonly paddingBytes?: number;
  readonly csrcs?: readonly Ssrc[];
  readonly extension?: RtpHeaderExtension;
  readonly marker?: boolean;
  readonly payloadType?: number;
  readonly timestamp?: number;
}

/** An RTP packet; with paddingBytes > 0, P=1 and that many padding octets (zeros, then the count). */
export function rtp(spec: RtpSpec): Uint8Array {
  const paddingBytes = spec.paddingBytes ?? 0;
  const header = encodeRtpHeader({
    version: 2,
    padding: paddingBytes > 0,
    marker: spec.marker ?? false,
    payloadType: spec.payloadType ?? 96,
    sequenceNumber: spec.seq,
    timestamp: spec.timestamp ?? spec.seq * 160,
    ssrc: spec.ssrc ?? SSRC,
    csrcs: spec.csrcs ?? [],
    extension: spec.extension,
  });
  const payload = spec.payload ?? Uint8Array.from([0xab, 0xcd, spec.seq & 0xff, spec.seq >>> 8]);
  const out = new Uint8Array(header.length + payload.length + paddingBytes);
  out.set(header, 0);
  out.set(payload, header.length);
  if (paddingBytes > 0) out[out.length - 1] = paddingBytes;
  return out;
}

export interface Pair {
  readonly sender: SrtpSender;
  readonly receiver: SrtpReceiver;
}

/** A sender and a receiver sharing `keys`, the first one active. */
export function pair(
  opts: { profile?: SrtpProfileName; mkiLengthBytes?: MkiLengthBytes; now?: () => number } = {},
  keys: readonly SrtpMasterKey[] = [testKey(1)],
): Pair {
  const profile = opts.profile ?? 'AES_CM_128_HMAC_SHA1_80';
  const mkiLengthBytes = opts.mkiLengthBytes ?? 0;
  const sender = new SrtpSender({ profile, mkiLengthBytes });
  const receiver = new SrtpReceiver({ profile, mkiLengthBytes, ...(opts.now ? { now: opts.now } : {}) });
  for (const k of keys) {
    sender.addKey(k);
    receiver.addKey(k);
  }
  sender.activate(keys[0]!.keyId);
  return { sender, receiver };
}

/** protect() that must succeed; returns the SRTP bytes and the index used. */
export function mustProtect(
  sender: SrtpSender,
  packet: Uint8Array,
): { srtp: Uint8Array; index: number; keyId: KeyId } {
  const r = sender.protect(packet);
  if (!r.ok) throw new Error(`protect failed: ${r.reason}`);
  return { srtp: r.packet, index: r.index, keyId: r.keyId };
}

// ---- reference implementation (RFC 3711 §4.1.1, §4.2, §4.3), independent of src/crypto ----

function aesCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ctr', key, iv);
  return Uint8Array.from(Buffer.concat([c.update(data), c.final()]));
}

function bigToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function bytesToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function referenceKdf(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  length: number,
): Uint8Array {
  const x = bytesToBig(masterSalt) ^ (BigInt(label) << 48n);
  return aesCtr(masterKey, bigToBytes(x << 16n, 16), new Uint8Array(length));
}

/** SRTP protect per RFC 3711 with BigInt IV arithmetic; returns header | ciphertext | tag (no MKI). */
export function referenceProtect(
  key: SrtpMasterKey,
  packet: Uint8Array,
  headerLengthBytes: number,
  index: number,
  tagBytes: number,
): Uint8Array {
  const ke = referenceKdf(key.masterKey, key.masterSalt, 0, 16);
  const ka = referenceKdf(key.masterKey, key.masterSalt, 1, 20);
  const ks = referenceKdf(key.masterKey, key.masterSalt, 2, 14);
  const ssrc = BigInt(new DataView(packet.buffer, packet.byteOffset).getUint32(8));
  const iv = (bytesToBig(ks) << 16n) ^ (ssrc << 64n) ^ (BigInt(index) << 16n);
  const body = aesCtr(ke, bigToBytes(iv, 16), packet.subarray(headerLengthBytes));
  const authenticated = new Uint8Array(packet.length);
  authenticated.set(packet.subarray(0, headerLengthBytes));
  authenticated.set(body, headerLengthBytes);
  const roc = bigToBytes(BigInt(index) >> 16n, 4);
  const tag = createHmac('sha1', ka).update(authenticated).update(roc).digest().subarray(0, tagBytes);
  const out = new Uint8Array(authenticated.length + tagBytes);
  out.set(authenticated);
  out.set(tag, authenticated.length);
  return out;
}
