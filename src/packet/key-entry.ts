// The entries of a key message: each one key wrapped under another (src/crypto/aead-wrap.ts output), named by the
// kind and id of the wrapping key. Pure codec. One message may carry many (claims 30-32).
//
// entry (9 octets + wrappedLength), repeated entryCount times, packed without padding:
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   wrapKind    |                 wrapKeyId ...                 |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | ... wrapKeyId |            epoch              | wrappedLength |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | ...           |   wrapped (wrappedLength octets) ...          :
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// wrapKind: 1 = psk (wrapKeyId = segment index), 2 = client (wrapKeyId = client id), 3 = service (service id),
// 4 = group (tree node). epoch: the wrapping key's epoch (a segment key gets a new epoch after a rekey; a service
// key's epoch is its period number; client keys have none: 0).

export const KEY_ENTRY_HEADER_LENGTH_BYTES = 9;
export const MAX_KEY_ENTRIES = 0xffff;
export const MAX_WRAPPED_LENGTH_BYTES = 0xffff;

export const WRAP_KIND_CODES = { psk: 1, client: 2, service: 3, group: 4 } as const;
export type WrapKind = keyof typeof WRAP_KIND_CODES;
const WRAP_KINDS = Object.keys(WRAP_KIND_CODES) as readonly WrapKind[];

export interface KeyEntry {
  readonly wrapKind: WrapKind;
  /** The id of the wrapping key: a segment index for psk, a client id for client, ... (u32). */
  readonly wrapKeyId: number;
  /** Epoch of the wrapping key (u16). */
  readonly epoch: number;
  /** The wrapped key (src/crypto/aead-wrap.ts output). At most 65535 bytes. */
  readonly wrapped: Uint8Array;
}

export type DecodeKeyEntriesResult =
  | { readonly ok: true; readonly entries: KeyEntry[]; readonly end: number }
  | {
      readonly ok: false;
      readonly reason: 'too_short' | 'bad_wrap_kind';
      readonly need?: number;
      readonly have?: number;
    };

/** Decodes `count` entries from `start`; the result's `end` is the offset after the last. Never throws. */
export function decodeKeyEntries(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  count: number,
): DecodeKeyEntriesResult {
  const have = bytes.length;
  let off = start;
  const entries: KeyEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (have < off + KEY_ENTRY_HEADER_LENGTH_BYTES) {
      return { ok: false, reason: 'too_short', need: off + KEY_ENTRY_HEADER_LENGTH_BYTES, have };
    }
    const wrapKind = WRAP_KINDS.find((k) => WRAP_KIND_CODES[k] === dv.getUint8(off));
    if (wrapKind === undefined) return { ok: false, reason: 'bad_wrap_kind' };
    const wrapKeyId = dv.getUint32(off + 1);
    const epoch = dv.getUint16(off + 5);
    const wrappedLength = dv.getUint16(off + 7);
    off += KEY_ENTRY_HEADER_LENGTH_BYTES;
    if (have < off + wrappedLength)
      return { ok: false, reason: 'too_short', need: off + wrappedLength, have };
    entries.push({ wrapKind, wrapKeyId, epoch, wrapped: bytes.subarray(off, off + wrappedLength) });
    off += wrappedLength;
  }
  return { ok: true, entries, end: off };
}

export function keyEntriesSize(entries: readonly KeyEntry[]): number {
  let n = 0;
  for (const e of entries) n += KEY_ENTRY_HEADER_LENGTH_BYTES + e.wrapped.length;
  return n;
}

/** Programmer misuse (an entry the codec cannot carry) throws. */
export function checkKeyEntries(entries: readonly KeyEntry[]): void {
  checkUint('entry count', entries.length, MAX_KEY_ENTRIES);
  for (const e of entries) {
    if (!Object.hasOwn(WRAP_KIND_CODES, e.wrapKind))
      throw new RangeError(`key message: unknown wrapKind ${e.wrapKind}`);
    checkUint('wrapKeyId', e.wrapKeyId, 0xffffffff);
    checkUint('epoch', e.epoch, 0xffff);
    checkUint('wrapped length', e.wrapped.length, MAX_WRAPPED_LENGTH_BYTES);
  }
}

function checkUint(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`key message: ${name} must be an integer in 0..${max}, got ${v}`);
  }
}

export function writeKeyEntries(
  entries: readonly KeyEntry[],
  dv: DataView,
  out: Uint8Array,
  offset: number,
  start: number,
): void {
  let off = start;
  for (const e of entries) {
    dv.setUint8(off, WRAP_KIND_CODES[e.wrapKind]);
    dv.setUint32(off + 1, e.wrapKeyId);
    dv.setUint16(off + 5, e.epoch);
    dv.setUint16(off + 7, e.wrapped.length);
    off += KEY_ENTRY_HEADER_LENGTH_BYTES;
    out.set(e.wrapped, offset + off);
    off += e.wrapped.length;
  }
}
