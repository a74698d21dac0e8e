// The group_rekey key message (type 3): one part of a rekey of a programme's session group (claims 14, 19, 23, 30;
// src/keys/group/). Pure codec: no crypto, no I/O. Signing, splitting and verifying live in
// src/keys/group/rekey-messages.ts.
//
// Header: the 20-octet key message header of src/packet/key-message.ts, with type = 3. (The four shared constants
// are repeated here, not imported, because key-message.ts hands type 3 to this file: no import cycle.)
//
// group_rekey body (type = 3):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                 groupEpoch (after this rekey)                 |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |     mode      | reserved (0)  |          entryCount           |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                             part                              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                             parts                             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   entries ...                                                 :
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// mode: 1 = flat, 2 = lkh, 3 = batch. A rekey too long for one datagram is split into `parts` messages
// (part = 0 .. parts-1), each signed on its own; every entry is in exactly one part.
//
// entry (19 octets + wrappedLength), entryCount times, packed without padding: the key of group node
// (node, version) wrapped under another key, named by kind, id and version:
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                        node (carried)                         |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                       version (carried)                       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   underKind   |                 underId ...                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  ... underId  |                underVersion ...               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |...underVersion|         wrappedLength         |  wrapped ...  :
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// node 1 is the root: its key is the group key, and its version is the group epoch. underKind: 1 = member (underId
// = client id, the member's individual key; underVersion 0), 2 = node (underId = node id, underVersion = the
// wrapping node key's version).
//
// signature: 64 octets, Ed25519 (RFC 8032) over octets 0 .. end of the last entry. Nothing may follow it.

export const GROUP_REKEY_TYPE_CODE = 3; // = KEY_MESSAGE_TYPE_CODES.group_rekey
const KEY_MESSAGE_VERSION = 1; // = key-message.ts
const HEADER_LENGTH_BYTES = 20; // = KEY_MESSAGE_HEADER_LENGTH_BYTES
const SIGNATURE_LENGTH_BYTES = 64; // = KEY_MESSAGE_SIGNATURE_LENGTH_BYTES

export const GROUP_REKEY_BODY_LENGTH_BYTES = 16; // including entryCount
export const GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES = 19;
export const GROUP_REKEY_OVERHEAD_BYTES =
  HEADER_LENGTH_BYTES + GROUP_REKEY_BODY_LENGTH_BYTES + SIGNATURE_LENGTH_BYTES;
/** The root of every group tree; its key is the group key and its version the group epoch. */
export const GROUP_ROOT_NODE_ID = 1;

export const GROUP_MODE_CODES = { flat: 1, lkh: 2, batch: 3 } as const;
export type GroupMode = keyof typeof GROUP_MODE_CODES;
export const GROUP_UNDER_KIND_CODES = { member: 1, node: 2 } as const;
export type GroupUnderKind = keyof typeof GROUP_UNDER_KIND_CODES;

const MODES = Object.keys(GROUP_MODE_CODES) as readonly GroupMode[];
const UNDER_KINDS = Object.keys(GROUP_UNDER_KIND_CODES) as readonly GroupUnderKind[];

/** One wrap of a rekey: the key of (node, version) wrapped under a member key or another node key. */
export interface GroupRekeyEntry {
  readonly node: number;
  readonly version: number;
  readonly underKind: GroupUnderKind;
  /** Client id for member, node id for node (u32). */
  readonly underId: number;
  /** Version of the wrapping node key; 0 for a member key (u32). */
  readonly underVersion: number;
  /** src/crypto/aead-wrap.ts output; at most 65535 bytes. */
  readonly wrapped: Uint8Array;
}

export interface GroupRekeyMessage {
  readonly type: 'group_rekey';
  readonly programmeId: number;
  readonly messageSeq: number;
  readonly issuedAtMs: number;
  readonly groupEpoch: number;
  readonly mode: GroupMode;
  readonly part: number;
  readonly parts: number;
  readonly entries: readonly GroupRekeyEntry[];
}

export type SignedGroupRekeyMessage = GroupRekeyMessage & {
  readonly signature: Uint8Array;
  readonly signedBytes: Uint8Array;
};

export type GroupRekeyRejectReason =
  | 'too_short'
  | 'bad_version'
  | 'unknown_type'
  | 'bad_mode'
  | 'bad_wrap_kind'
  | 'bad_field'
  | 'trailing_bytes';

export type DecodeGroupRekeyResult =
  | { readonly ok: true; readonly msg: SignedGroupRekeyMessage }
  | {
      readonly ok: false;
      readonly reason: GroupRekeyRejectReason;
      readonly need?: number;
      readonly have?: number;
    };

type Failure = Extract<DecodeGroupRekeyResult, { ok: false }>;

function fail(reason: GroupRekeyRejectReason, need?: number, have?: number): Failure {
  return need === undefined || have === undefined ? { ok: false, reason } : { ok: false, reason, need, have };
}

/** Decode a signed group_rekey message. Untrusted input: never throws; the signature is NOT checked here. */
export function decodeGroupRekey(bytes: Uint8Array): DecodeGroupRekeyResult {
  const have = bytes.length;
  if (have < 1) return fail('too_short', 1, have);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint8(0) !== KEY_MESSAGE_VERSION) return fail('bad_version');
  let off = HEADER_LENGTH_BYTES;
  if (have < off + GROUP_REKEY_BODY_LENGTH_BYTES)
    return fail('too_short', off + GROUP_REKEY_BODY_LENGTH_BYTES, have);
  if (dv.getUint8(1) !== GROUP_REKEY_TYPE_CODE) return fail('unknown_type');
  const issuedAtBig = dv.getBigUint64(12);
  if (issuedAtBig > BigInt(Number.MAX_SAFE_INTEGER)) return fail('bad_field');
  const mode = MODES.find((m) => GROUP_MODE_CODES[m] === dv.getUint8(off + 4));
  if (mode === undefined) return fail('bad_mode');
  const entryCount = dv.getUint16(off + 6);
  const part = dv.getUint32(off + 8);
  const parts = dv.getUint32(off + 12);
  if (parts === 0 || part >= parts) return fail('bad_field');
  const groupEpoch = dv.getUint32(off);
  off += GROUP_REKEY_BODY_LENGTH_BYTES;

  const entries: GroupRekeyEntry[] = [];
  for (let i = 0; i < entryCount; i++) {
    if (have < off + GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES)
      return fail('too_short', off + GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES, have);
    const underKind = UNDER_KINDS.find((k) => GROUP_UNDER_KIND_CODES[k] === dv.getUint8(off + 8));
    if (underKind === undefined) return fail('bad_wrap_kind');
    const node = dv.getUint32(off);
    const version = dv.getUint32(off + 4);
    const underId = dv.getUint32(off + 9);
    const underVersion = dv.getUint32(off + 13);
    const wrappedLength = dv.getUint16(off + 17);
    off += GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES;
    if (have < off + wrappedLength) return fail('too_short', off + wrappedLength, have);
    entries.push({
      node,
      version,
      underKind,
      underId,
      underVersion,
      wrapped: bytes.subarray(off, off + wrappedLength),
    });
    off += wrappedLength;
  }
  const need = off + SIGNATURE_LENGTH_BYTES;
  if (have < need) return fail('too_short', need, have);
  if (have > need) return fail('trailing_bytes', need, have);
  return {
    ok: true,
    msg: {
      type: 'group_rekey',
      programmeId: dv.getUint32(4),
      messageSeq: dv.getUint32(8),
      issuedAtMs: Number(issuedAtBig),
      groupEpoch,
      mode,
      part,
      parts,
      entries,
      signature: bytes.subarray(off, need),
      signedBytes: bytes.subarray(0, off),
    },
  };
}

function checkUint(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`group_rekey: ${name} must be an integer in 0..${max}, got ${v}`);
  }
}

function checkMessage(msg: GroupRekeyMessage): void {
  if (msg.type !== 'group_rekey')
    throw new RangeError(`group_rekey: type must be group_rekey, got ${String(msg.type)}`);
  checkUint('programmeId', msg.programmeId, 0xffffffff);
  checkUint('messageSeq', msg.messageSeq, 0xffffffff);
  checkUint('issuedAtMs', msg.issuedAtMs, Number.MAX_SAFE_INTEGER);
  checkUint('groupEpoch', msg.groupEpoch, 0xffffffff);
  if (!Object.hasOwn(GROUP_MODE_CODES, msg.mode))
    throw new RangeError(`group_rekey: unknown mode ${msg.mode}`);
  checkUint('parts', msg.parts, 0xffffffff);
  if (msg.parts === 0) throw new RangeError('group_rekey: parts must be at least 1');
  checkUint('part', msg.part, msg.parts - 1);
  checkUint('entry count', msg.entries.length, 0xffff);
  for (const e of msg.entries) {
    checkUint('node', e.node, 0xffffffff);
    checkUint('version', e.version, 0xffffffff);
    if (!Object.hasOwn(GROUP_UNDER_KIND_CODES, e.underKind))
      throw new RangeError(`group_rekey: unknown underKind ${e.underKind}`);
    checkUint('underId', e.underId, 0xffffffff);
    checkUint('underVersion', e.underVersion, 0xffffffff);
    checkUint('wrapped length', e.wrapped.length, 0xffff);
  }
}

/** Size of one entry on the wire. */
export function groupRekeyEntrySize(e: GroupRekeyEntry): number {
  return GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES + e.wrapped.length;
}

/** Length of the signed part (everything before the signature). */
export function groupRekeySignedSize(msg: GroupRekeyMessage): number {
  let n = HEADER_LENGTH_BYTES + GROUP_REKEY_BODY_LENGTH_BYTES;
  for (const e of msg.entries) n += groupRekeyEntrySize(e);
  return n;
}

/** Total length including the signature. */
export function groupRekeySize(msg: GroupRekeyMessage): number {
  return groupRekeySignedSize(msg) + SIGNATURE_LENGTH_BYTES;
}

/**
 * Write the signed part of `msg` into `out` at `offset`; returns the number of bytes written. Throws on
 * out-of-range fields (programming error).
 */
export function writeGroupRekeySignedPart(msg: GroupRekeyMessage, out: Uint8Array, offset: number): number {
  checkMessage(msg);
  const size = groupRekeySignedSize(msg);
  if (offset < 0 || out.length - offset < size) {
    throw new RangeError(`group_rekey: need ${size} bytes at offset ${offset}, buffer has ${out.length}`);
  }
  const dv = new DataView(out.buffer, out.byteOffset + offset, size);
  dv.setUint8(0, KEY_MESSAGE_VERSION);
  dv.setUint8(1, GROUP_REKEY_TYPE_CODE);
  dv.setUint16(2, 0);
  dv.setUint32(4, msg.programmeId);
  dv.setUint32(8, msg.messageSeq);
  dv.setBigUint64(12, BigInt(msg.issuedAtMs));
  let off = HEADER_LENGTH_BYTES;
  dv.setUint32(off, msg.groupEpoch);
  dv.setUint8(off + 4, GROUP_MODE_CODES[msg.mode]);
  dv.setUint8(off + 5, 0);
  dv.setUint16(off + 6, msg.entries.length);
  dv.setUint32(off + 8, msg.part);
  dv.setUint32(off + 12, msg.parts);
  off += GROUP_REKEY_BODY_LENGTH_BYTES;
  for (const e of msg.entries) {
    dv.setUint32(off, e.node);
    dv.setUint32(off + 4, e.version);
    dv.setUint8(off + 8, GROUP_UNDER_KIND_CODES[e.underKind]);
    dv.setUint32(off + 9, e.underId);
    dv.setUint32(off + 13, e.underVersion);
    dv.setUint16(off + 17, e.wrapped.length);
    off += GROUP_REKEY_ENTRY_HEADER_LENGTH_BYTES;
    out.set(e.wrapped, offset + off);
    off += e.wrapped.length;
  }
  return size;
}

/** Encode the signed part of `msg` (for signing). */
export function encodeGroupRekeySignedPart(msg: GroupRekeyMessage): Uint8Array {
  const out = new Uint8Array(groupRekeySignedSize(msg));
  writeGroupRekeySignedPart(msg, out, 0);
  return out;
}

/** Encode a whole group_rekey message with the given 64-byte signature. */
export function encodeGroupRekey(msg: GroupRekeyMessage, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_LENGTH_BYTES) {
    throw new RangeError(
      `group_rekey: signature must be ${SIGNATURE_LENGTH_BYTES} bytes, got ${signature.length}`,
    );
  }
  const out = new Uint8Array(groupRekeySize(msg));
  const n = writeGroupRekeySignedPart(msg, out, 0);
  out.set(signature, n);
  return out;
}

/**
 * Split entries into runs whose messages are at most `maxDatagramBytes` long, keeping their order (bottom-up, so
 * a member that reads the parts in order can unwrap each in one pass). Every entry is in exactly one run; an
 * empty list gives one empty run (a rekey with no wraps still announces its epoch). Throws if one entry alone does
 * not fit.
 */
export function chunkGroupRekeyEntries(
  entries: readonly GroupRekeyEntry[],
  maxDatagramBytes: number,
): GroupRekeyEntry[][] {
  const chunks: GroupRekeyEntry[][] = [];
  let current: GroupRekeyEntry[] = [];
  let size = GROUP_REKEY_OVERHEAD_BYTES;
  for (const e of entries) {
    const n = groupRekeyEntrySize(e);
    if (GROUP_REKEY_OVERHEAD_BYTES + n > maxDatagramBytes)
      throw new RangeError(`group_rekey: an entry of ${n} bytes cannot fit in ${maxDatagramBytes}`);
    if (current.length > 0 && (size + n > maxDatagramBytes || current.length === 0xffff)) {
      chunks.push(current);
      current = [];
      size = GROUP_REKEY_OVERHEAD_BYTES;
    }
    current.push(e);
    size += n;
  }
  chunks.push(current);
  return chunks;
}
