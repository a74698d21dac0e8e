// What a demo receiver should have written: the bytes of the input it was entitled to, from its first decrypted
// packet on. The sender reports where each segment lies (SRTP indices and TS byte offsets, see SegmentRange);
// nothing here assumes a segment length or an offset.
import { TS_PACKET_BYTES, TS_PACKETS_PER_RTP } from '../packet/mpegts.js';
import type { SegmentRange } from '../sender/types.js';

/** Every RTP packet carries this many TS bytes, except perhaps the programme's last (see TsChunker). */
const FULL_PACKET_TS_BYTES = TS_PACKETS_PER_RTP * TS_PACKET_BYTES;

/** Byte ranges [start, end) of the input, in order. */
export interface ExpectedOutput {
  readonly slices: readonly { readonly start: number; readonly end: number }[];
  readonly bytes: number;
}

/**
 * The TS byte offset of the packet with SRTP index `index`: every packet before it carried a full chunk, so it is
 * its segment's start plus whole packets. Undefined when the sender sent no such packet.
 */
export function byteOffsetOf(ranges: readonly SegmentRange[], index: number): number | undefined {
  const r = ranges.find((x) => x.firstIndex <= index && index <= x.lastIndex);
  return r === undefined ? undefined : r.tsByteStart + (index - r.firstIndex) * FULL_PACKET_TS_BYTES;
}

/**
 * The part of the input a receiver entitled to `segments` should have written if its first decrypted packet had
 * index `firstIndex`: each entitled segment's bytes, cut at the start to that packet. Nothing when it decrypted
 * nothing.
 */
export function expectedOutput(
  ranges: readonly SegmentRange[],
  segments: readonly number[],
  firstIndex: number | undefined,
): ExpectedOutput {
  const from = firstIndex === undefined ? undefined : byteOffsetOf(ranges, firstIndex);
  if (from === undefined) return { slices: [], bytes: 0 };
  const slices: { start: number; end: number }[] = [];
  for (const r of ranges) {
    if (!segments.includes(r.segment)) continue;
    const start = Math.max(r.tsByteStart, from);
    if (start >= r.tsByteEnd) continue;
    const last = slices.at(-1);
    if (last !== undefined && last.end === start) last.end = r.tsByteEnd;
    else slices.push({ start, end: r.tsByteEnd });
  }
  return { slices, bytes: slices.reduce((n, s) => n + s.end - s.start, 0) };
}

/** True when `output` is exactly the expected slices of `input`, and not empty. */
export function matchesExpected(input: Uint8Array, output: Uint8Array, expected: ExpectedOutput): boolean {
  if (expected.bytes === 0 || output.length !== expected.bytes) return false;
  let at = 0;
  for (const s of expected.slices) {
    if (s.end > input.length) return false;
    const want = input.subarray(s.start, s.end);
    if (!Buffer.from(output.buffer, output.byteOffset + at, want.length).equals(want)) return false;
    at += want.length;
  }
  return true;
}
