// Mutations of valid inputs: byte-level (bit flips, interesting bytes, truncation, extension, insertion, deletion,
// duplication, splicing with another input) and field-aware (a target names its fields and their interesting
// values: version, lengths, counts, MKI, profile codes ...). Several are stacked per case, as AFL's havoc stage does.
import type { Prng } from './prng.js';

/** A field of a valid input, as the target that made it knows it. */
export interface Field {
  readonly name: string;
  readonly offset: number;
  /** 1, 2 or 4 bytes, big-endian. */
  readonly lengthBytes: 1 | 2 | 4;
  /** For a field inside one byte: the bits it owns (e.g. 0xc0 for the RTP version). */
  readonly mask?: number;
  /** Values worth trying besides random ones and ±1: boundaries, codes defined next to the real one. */
  readonly values?: readonly number[];
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x04, 0x0f, 0x10, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xfe, 0xff];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const MAX_GROWTH_BYTES = 64;

export interface MutationSource {
  readonly input: Uint8Array;
  readonly fields?: readonly Field[];
  /** Other valid inputs to splice with. */
  readonly others?: readonly Uint8Array[];
}

/** One to a few stacked mutations of `src.input` (a new array; the input is not touched). */
export function mutate(rng: Prng, src: MutationSource): Uint8Array {
  let out: Uint8Array = src.input.slice();
  const fields = src.fields ?? [];
  const rounds = 1 + (rng.chance(0.5) ? 0 : rng.below(4));
  for (let i = 0; i < rounds; i++) {
    // Field edits first: they only make sense while offsets still match the original layout.
    if (i === 0 && fields.length > 0 && rng.chance(0.4)) out = setField(rng, out, rng.pick(fields));
    else out = mutateBytes(rng, out, src.others ?? []);
  }
  return out;
}

function mutateBytes(rng: Prng, b: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
  switch (rng.below(10)) {
    case 0:
      return flipBit(rng, b);
    case 1:
      return setByte(rng, b, rng.pick(INTERESTING_BYTES));
    case 2:
      return setByte(rng, b, rng.below(256));
    case 3:
      return b.subarray(0, rng.below(b.length + 1));
    case 4:
      return concat(b, rng.bytes(1 + rng.below(MAX_GROWTH_BYTES)));
    case 5:
      return insertAt(rng, b, rng.bytes(1 + rng.below(16)));
    case 6:
      return deleteRange(rng, b);
    case 7:
      return duplicateRange(rng, b);
    case 8:
      return others.length === 0 ? flipBit(rng, b) : splice(rng, b, rng.pick(others));
    default:
      return b.length === 0 ? b : flipBit(rng, flipBit(rng, b));
  }
}

function flipBit(rng: Prng, b: Uint8Array): Uint8Array {
  if (b.length === 0) return b;
  const out = b.slice();
  const i = rng.below(out.length);
  out[i] = out[i]! ^ (1 << rng.below(8));
  return out;
}

function setByte(rng: Prng, b: Uint8Array, v: number): Uint8Array {
  if (b.length === 0) return b;
  const out = b.slice();
  // Headers hold most of the fields: bias towards the front and the end (the SRTP trailer, a signature).
  const i = rng.chance(0.5) ? rng.below(Math.min(out.length, 48)) : rng.below(out.length);
  out[rng.chance(0.2) ? out.length - 1 - (i % out.length) : i] = v;
  return out;
}

function insertAt(rng: Prng, b: Uint8Array, bytes: Uint8Array): Uint8Array {
  const at = rng.below(b.length + 1);
  return concat(b.subarray(0, at), bytes, b.subarray(at));
}

function deleteRange(rng: Prng, b: Uint8Array): Uint8Array {
  if (b.length === 0) return b;
  const at = rng.below(b.length);
  const n = 1 + rng.below(Math.min(16, b.length - at));
  return concat(b.subarray(0, at), b.subarray(at + n));
}

function duplicateRange(rng: Prng, b: Uint8Array): Uint8Array {
  if (b.length === 0) return b;
  const from = rng.below(b.length);
  const n = 1 + rng.below(Math.min(32, b.length - from));
  const at = rng.below(b.length + 1);
  return concat(b.subarray(0, at), b.subarray(from, from + n), b.subarray(at));
}

/** The head of one input and the tail of another. */
function splice(rng: Prng, a: Uint8Array, other: Uint8Array): Uint8Array {
  return concat(a.subarray(0, rng.below(a.length + 1)), other.subarray(rng.below(other.length + 1)));
}

function setField(rng: Prng, b: Uint8Array, f: Field): Uint8Array {
  if (f.offset + f.lengthBytes > b.length) return flipBit(rng, b);
  const out = b.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const current = readField(dv, f);
  const max = fieldMax(f);
  const generic =
    f.lengthBytes === 1 ? INTERESTING_BYTES : f.lengthBytes === 2 ? INTERESTING_U16 : INTERESTING_U32;
  const roll = rng.below(4);
  const v =
    roll === 0 && f.values !== undefined && f.values.length > 0
      ? rng.pick(f.values)
      : roll === 1
        ? rng.pick(generic)
        : roll === 2
          ? current + (rng.chance(0.5) ? 1 : -1)
          : rng.below(max + 1);
  writeField(dv, f, ((v % (max + 1)) + (max + 1)) % (max + 1));
  return out;
}

function fieldMax(f: Field): number {
  if (f.mask !== undefined) return f.mask >>> shiftOf(f.mask);
  return 2 ** (8 * f.lengthBytes) - 1;
}

function shiftOf(mask: number): number {
  let s = 0;
  while (((mask >>> s) & 1) === 0 && s < 8) s++;
  return s;
}

function readField(dv: DataView, f: Field): number {
  if (f.mask !== undefined) return (dv.getUint8(f.offset) & f.mask) >>> shiftOf(f.mask);
  return f.lengthBytes === 1
    ? dv.getUint8(f.offset)
    : f.lengthBytes === 2
      ? dv.getUint16(f.offset)
      : dv.getUint32(f.offset);
}

function writeField(dv: DataView, f: Field, v: number): void {
  if (f.mask !== undefined) {
    const byte = dv.getUint8(f.offset);
    dv.setUint8(f.offset, (byte & ~f.mask) | ((v << shiftOf(f.mask)) & f.mask));
  } else if (f.lengthBytes === 1) dv.setUint8(f.offset, v);
  else if (f.lengthBytes === 2) dv.setUint16(f.offset, v);
  else dv.setUint32(f.offset, v);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Random bytes of a usually small length: the "random input" half of the fuzz. */
export function randomInput(rng: Prng, maxLengthBytes: number): Uint8Array {
  return rng.bytes(rng.smallLength(maxLengthBytes));
}
