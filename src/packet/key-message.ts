// Key messages: the one binary format in which the key server hands out keys over multicast (and, for the
// sender, over HTTP). Pure codec: no crypto, no I/O. Signing and verification live in src/keys/key-message-sign.ts.
//
// All integers are unsigned, network byte order. A message is a header, a type-specific body, a list of wrapped
// keys (entries), and an Ed25519 signature by the key server over every byte before it.
//
// Header (every type):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  version = 1  |     type      |   reserved (0; ignored)       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                          programmeId                          |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |            messageSeq (monotonic per programme)               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    +                  issuedAtMs (64 bits, Unix ms)                +
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  20 octets
//
// type: 1 = content_key; 2 = segment_key; 3 = group_rekey, defined in src/packet/group-rekey.ts. decodeKeyMessage
// (content and segment keys, for callers that handle only those) answers `unsupported_type` for type 3;
// decodeAnyKeyMessage decodes all three.
//
// content_key body (type = 1): the SSRC's rollover counter is `roc` at RTP sequence number `seq`.
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                             keyId                             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                             ssrc                              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                              roc                              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |              seq              |    profile    |mkiLengthBytes |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    +                  activatesAtMs (64 bits, Unix ms)             +
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    +                   expiresAtMs (64 bits, Unix ms)              +
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |          entryCount           |   entries ...                 |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// profile is the IANA DTLS-SRTP protection profile value (src/packet/profile-code.ts).
//
// A content_key entry with wrapKind psk names a programme segment key by wrapKeyId = segment and epoch = the PSK's
// epoch. A message may carry several (claim 12: the first key of a segment also under the previous segment's PSK,
// for a seamless rollover); the content key belongs to the newest segment its entries name.
//
// segment_key body (type = 2): the programme segment key (PSK) of (programmeId, segment, epoch), each entry one
// copy of it wrapped under another key; valid (on the air) from activatesAtMs to expiresAtMs.
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                            segment                            |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         epoch (PSK)           |                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//    |                  activatesAtMs (64 bits, Unix ms)             |
//    +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                               |                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//    |                   expiresAtMs (64 bits, Unix ms)              |
//    +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                               |          entryCount           |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   entries ...                                                 :
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A segment_key entry with wrapKind service (claim 9) names the service key by wrapKeyId = service id and
// epoch = the subscription period as months since 1970-01 (src/keys/service-key.ts periodNumber: 2026-12 = 683).
//
// entries: entryCount entries, packed without padding (src/packet/key-entry.ts).
//
// signature: 64 octets, Ed25519 (RFC 8032) over octets 0 .. end of the last entry. Nothing may follow it.
import { asKeyId, asSsrc, type KeyId, type Ssrc } from '../ids.js';
import {
  checkKeyEntries,
  decodeKeyEntries,
  keyEntriesSize,
  writeKeyEntries,
  type KeyEntry,
} from './key-entry.js';
import { decodeGroupRekey, type DecodeGroupRekeyResult } from './group-rekey.js';
import { KEY_MESSAGE_PROFILES, keyMessageProfileFromCode, type KeyMessageProfile } from './profile-code.js';

export {
  KEY_ENTRY_HEADER_LENGTH_BYTES,
  MAX_KEY_ENTRIES,
  MAX_WRAPPED_LENGTH_BYTES,
  WRAP_KIND_CODES,
  type KeyEntry,
  type WrapKind,
} from './key-entry.js';

export const KEY_MESSAGE_VERSION = 1;
export const KEY_MESSAGE_HEADER_LENGTH_BYTES = 20;
export const CONTENT_KEY_BODY_LENGTH_BYTES = 34; // including entryCount
export const SEGMENT_KEY_BODY_LENGTH_BYTES = 24; // including entryCount
export const KEY_MESSAGE_SIGNATURE_LENGTH_BYTES = 64;

export const KEY_MESSAGE_TYPE_CODES = { content_key: 1, segment_key: 2, group_rekey: 3 } as const;
export type KeyMessageTypeName = keyof typeof KEY_MESSAGE_TYPE_CODES;

export interface ContentKeyMessage {
  readonly type: 'content_key';
  readonly programmeId: number;
  readonly messageSeq: number;
  readonly issuedAtMs: number;
  readonly keyId: KeyId;
  readonly ssrc: Ssrc;
  readonly roc: number;
  readonly seq: number;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
  readonly entries: readonly KeyEntry[];
}

export interface SegmentKeyMessage {
  readonly type: 'segment_key';
  readonly programmeId: number;
  readonly messageSeq: number;
  readonly issuedAtMs: number;
  /** The segment whose PSK the entries carry (u32), and the PSK's epoch (u16). */
  readonly segment: number;
  readonly epoch: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
  readonly entries: readonly KeyEntry[];
}

/** A key message without its signature. */
export type UnsignedKeyMessage = ContentKeyMessage | SegmentKeyMessage;

interface Signed {
  readonly signature: Uint8Array;
  readonly signedBytes: Uint8Array;
}

/** A decoded key message: the fields, the signature, and the exact bytes the signature covers (views into input). */
export type KeyMessage = (ContentKeyMessage & Signed) | (SegmentKeyMessage & Signed);
export type SignedContentKeyMessage = ContentKeyMessage & Signed;
export type SignedSegmentKeyMessage = SegmentKeyMessage & Signed;

export type KeyMessageRejectReason =
  | 'too_short'
  | 'bad_version'
  | 'unknown_type'
  | 'unsupported_type'
  | 'bad_profile'
  | 'bad_wrap_kind'
  | 'bad_field'
  | 'trailing_bytes';

export type DecodeKeyMessageResult =
  | { readonly ok: true; readonly msg: KeyMessage }
  | {
      readonly ok: false;
      readonly reason: KeyMessageRejectReason;
      readonly need?: number;
      readonly have?: number;
    };

function fail(
  reason: KeyMessageRejectReason,
  need?: number,
  have?: number,
): {
  readonly ok: false;
  readonly reason: KeyMessageRejectReason;
  readonly need?: number;
  readonly have?: number;
} {
  return need === undefined || have === undefined ? { ok: false, reason } : { ok: false, reason, need, have };
}

/** Decode a signed key message. Untrusted input: never throws; the signature is NOT checked here. */
export function decodeKeyMessage(bytes: Uint8Array): DecodeKeyMessageResult {
  const have = bytes.length;
  if (have < 1) return fail('too_short', 1, have);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint8(0) !== KEY_MESSAGE_VERSION) return fail('bad_version');
  if (have < KEY_MESSAGE_HEADER_LENGTH_BYTES) return fail('too_short', KEY_MESSAGE_HEADER_LENGTH_BYTES, have);
  const typeCode = dv.getUint8(1);
  if (typeCode === KEY_MESSAGE_TYPE_CODES.group_rekey) return fail('unsupported_type');
  if (typeCode !== KEY_MESSAGE_TYPE_CODES.content_key && typeCode !== KEY_MESSAGE_TYPE_CODES.segment_key)
    return fail('unknown_type');
  const programmeId = dv.getUint32(4);
  const messageSeq = dv.getUint32(8);
  const issuedAtMs = readU64(dv, 12);
  if (issuedAtMs === undefined) return fail('bad_field');
  if (typeCode === KEY_MESSAGE_TYPE_CODES.segment_key)
    return decodeSegmentKeyBody(bytes, dv, { programmeId, messageSeq, issuedAtMs });

  let off = KEY_MESSAGE_HEADER_LENGTH_BYTES;
  if (have < off + CONTENT_KEY_BODY_LENGTH_BYTES)
    return fail('too_short', off + CONTENT_KEY_BODY_LENGTH_BYTES, have);
  const keyId = dv.getUint32(off);
  const ssrc = dv.getUint32(off + 4);
  const roc = dv.getUint32(off + 8);
  const seq = dv.getUint16(off + 12);
  const profile = keyMessageProfileFromCode(dv.getUint8(off + 14));
  if (profile === undefined) return fail('bad_profile');
  const mkiLengthBytes = dv.getUint8(off + 15);
  if (mkiLengthBytes > 4) return fail('bad_field');
  const activatesAtMs = readU64(dv, off + 16);
  const expiresAtMs = readU64(dv, off + 24);
  if (activatesAtMs === undefined || expiresAtMs === undefined) return fail('bad_field');
  const entryCount = dv.getUint16(off + 32);
  off += CONTENT_KEY_BODY_LENGTH_BYTES;

  const tail = decodeEntriesAndSignature(bytes, dv, off, entryCount);
  if (!tail.ok) return tail;
  const { entries, signature, signedBytes } = tail;
  return {
    ok: true,
    msg: {
      type: 'content_key',
      programmeId,
      messageSeq,
      issuedAtMs,
      keyId: asKeyId(keyId),
      ssrc: asSsrc(ssrc),
      roc,
      seq,
      profile,
      mkiLengthBytes,
      activatesAtMs,
      expiresAtMs,
      entries,
      signature,
      signedBytes,
    },
  };
}

/** Decode a signed key message of any type, group_rekey included. Untrusted input: never throws. */
export function decodeAnyKeyMessage(bytes: Uint8Array): DecodeKeyMessageResult | DecodeGroupRekeyResult {
  if (
    bytes.length >= 2 &&
    bytes[0] === KEY_MESSAGE_VERSION &&
    bytes[1] === KEY_MESSAGE_TYPE_CODES.group_rekey
  )
    return decodeGroupRekey(bytes);
  return decodeKeyMessage(bytes);
}

type Failure = Extract<DecodeKeyMessageResult, { ok: false }>;

function decodeSegmentKeyBody(
  bytes: Uint8Array,
  dv: DataView,
  header: { programmeId: number; messageSeq: number; issuedAtMs: number },
): DecodeKeyMessageResult {
  const off = KEY_MESSAGE_HEADER_LENGTH_BYTES;
  if (bytes.length < off + SEGMENT_KEY_BODY_LENGTH_BYTES)
    return fail('too_short', off + SEGMENT_KEY_BODY_LENGTH_BYTES, bytes.length);
  const segment = dv.getUint32(off);
  const epoch = dv.getUint16(off + 4);
  const activatesAtMs = readU64(dv, off + 6);
  const expiresAtMs = readU64(dv, off + 14);
  if (activatesAtMs === undefined || expiresAtMs === undefined) return fail('bad_field');
  const entryCount = dv.getUint16(off + 22);
  const tail = decodeEntriesAndSignature(bytes, dv, off + SEGMENT_KEY_BODY_LENGTH_BYTES, entryCount);
  if (!tail.ok) return tail;
  const { entries, signature, signedBytes } = tail;
  return {
    ok: true,
    msg: {
      type: 'segment_key',
      ...header,
      segment,
      epoch,
      activatesAtMs,
      expiresAtMs,
      entries,
      signature,
      signedBytes,
    },
  };
}

function decodeEntriesAndSignature(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  entryCount: number,
): { ok: true; entries: KeyEntry[]; signature: Uint8Array; signedBytes: Uint8Array } | Failure {
  const e = decodeKeyEntries(bytes, dv, start, entryCount);
  if (!e.ok) return fail(e.reason, e.need, e.have);
  const have = bytes.length;
  const need = e.end + KEY_MESSAGE_SIGNATURE_LENGTH_BYTES;
  if (have < need) return fail('too_short', need, have);
  if (have > need) return fail('trailing_bytes', need, have);
  return {
    ok: true,
    entries: e.entries,
    signature: bytes.subarray(e.end, need),
    signedBytes: bytes.subarray(0, e.end),
  };
}

function readU64(dv: DataView, off: number): number | undefined {
  const v = dv.getBigUint64(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

function checkUint(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`key message: ${name} must be an integer in 0..${max}, got ${v}`);
  }
}

function checkMessage(msg: UnsignedKeyMessage): void {
  if (msg.type !== 'content_key' && msg.type !== 'segment_key')
    throw new RangeError(`key message: type ${String((msg as { type: unknown }).type)} is not defined`);
  checkUint('programmeId', msg.programmeId, 0xffffffff);
  checkUint('messageSeq', msg.messageSeq, 0xffffffff);
  checkUint('issuedAtMs', msg.issuedAtMs, Number.MAX_SAFE_INTEGER);
  if (msg.type === 'segment_key') {
    checkUint('segment', msg.segment, 0xffffffff);
    checkUint('epoch', msg.epoch, 0xffff);
    checkUint('activatesAtMs', msg.activatesAtMs, Number.MAX_SAFE_INTEGER);
    checkUint('expiresAtMs', msg.expiresAtMs, Number.MAX_SAFE_INTEGER);
    checkKeyEntries(msg.entries);
    return;
  }
  checkUint('keyId', msg.keyId, 0xffffffff);
  checkUint('ssrc', msg.ssrc, 0xffffffff);
  checkUint('roc', msg.roc, 0xffffffff);
  checkUint('seq', msg.seq, 0xffff);
  checkUint('mkiLengthBytes', msg.mkiLengthBytes, 4);
  checkUint('activatesAtMs', msg.activatesAtMs, Number.MAX_SAFE_INTEGER);
  checkUint('expiresAtMs', msg.expiresAtMs, Number.MAX_SAFE_INTEGER);
  if (!Object.hasOwn(KEY_MESSAGE_PROFILES, msg.profile))
    throw new RangeError(`key message: unknown profile ${msg.profile}`);
  checkKeyEntries(msg.entries);
}

/** Length of the signed part (everything before the signature). */
export function keyMessageSignedSize(msg: UnsignedKeyMessage): number {
  const body = msg.type === 'segment_key' ? SEGMENT_KEY_BODY_LENGTH_BYTES : CONTENT_KEY_BODY_LENGTH_BYTES;
  return KEY_MESSAGE_HEADER_LENGTH_BYTES + body + keyEntriesSize(msg.entries);
}

/** Total length including the signature. */
export function keyMessageSize(msg: UnsignedKeyMessage): number {
  return keyMessageSignedSize(msg) + KEY_MESSAGE_SIGNATURE_LENGTH_BYTES;
}

/**
 * Write the signed part of `msg` into `out` at `offset`; returns the number of bytes written. The caller appends
 * the signature (src/keys/key-message-sign.ts does both). Throws on out-of-range fields (programming error).
 */
export function writeKeyMessageSignedPart(msg: UnsignedKeyMessage, out: Uint8Array, offset: number): number {
  checkMessage(msg);
  const size = keyMessageSignedSize(msg);
  if (offset < 0 || out.length - offset < size) {
    throw new RangeError(`key message: need ${size} bytes at offset ${offset}, buffer has ${out.length}`);
  }
  const dv = new DataView(out.buffer, out.byteOffset + offset, size);
  dv.setUint8(0, KEY_MESSAGE_VERSION);
  dv.setUint8(1, KEY_MESSAGE_TYPE_CODES[msg.type]);
  dv.setUint16(2, 0);
  dv.setUint32(4, msg.programmeId);
  dv.setUint32(8, msg.messageSeq);
  dv.setBigUint64(12, BigInt(msg.issuedAtMs));
  const off = KEY_MESSAGE_HEADER_LENGTH_BYTES;
  if (msg.type === 'segment_key') {
    dv.setUint32(off, msg.segment);
    dv.setUint16(off + 4, msg.epoch);
    dv.setBigUint64(off + 6, BigInt(msg.activatesAtMs));
    dv.setBigUint64(off + 14, BigInt(msg.expiresAtMs));
    dv.setUint16(off + 22, msg.entries.length);
    writeKeyEntries(msg.entries, dv, out, offset, off + SEGMENT_KEY_BODY_LENGTH_BYTES);
    return size;
  }
  dv.setUint32(off, msg.keyId);
  dv.setUint32(off + 4, msg.ssrc);
  dv.setUint32(off + 8, msg.roc);
  dv.setUint16(off + 12, msg.seq);
  dv.setUint8(off + 14, KEY_MESSAGE_PROFILES[msg.profile].code);
  dv.setUint8(off + 15, msg.mkiLengthBytes);
  dv.setBigUint64(off + 16, BigInt(msg.activatesAtMs));
  dv.setBigUint64(off + 24, BigInt(msg.expiresAtMs));
  dv.setUint16(off + 32, msg.entries.length);
  writeKeyEntries(msg.entries, dv, out, offset, off + CONTENT_KEY_BODY_LENGTH_BYTES);
  return size;
}

/** Encode the signed part of `msg` (for signing). */
export function encodeKeyMessageSignedPart(msg: UnsignedKeyMessage): Uint8Array {
  const out = new Uint8Array(keyMessageSignedSize(msg));
  writeKeyMessageSignedPart(msg, out, 0);
  return out;
}

/** Encode a whole key message with the given 64-byte signature. */
export function encodeKeyMessage(msg: UnsignedKeyMessage, signature: Uint8Array): Uint8Array {
  if (signature.length !== KEY_MESSAGE_SIGNATURE_LENGTH_BYTES) {
    throw new RangeError(
      `key message: signature must be ${KEY_MESSAGE_SIGNATURE_LENGTH_BYTES} bytes, got ${signature.length}`,
    );
  }
  const out = new Uint8Array(keyMessageSize(msg));
  const n = writeKeyMessageSignedPart(msg, out, 0);
  out.set(signature, n);
  return out;
}
