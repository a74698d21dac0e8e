import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TsChunker, pcrTicksToMs } from '../../src/sender/ts-chunker.js';
import { TS_PACKET_BYTES, readPcr } from '../../src/packet/mpegts.js';

const sample = new Uint8Array(readFileSync(new URL('../../samples/sample.ts', import.meta.url)));

function chunkAll(input: Uint8Array, pieceBytes: number) {
  const c = new TsChunker();
  const out = [];
  for (let o = 0; o < input.length; o += pieceBytes) out.push(...c.push(input.subarray(o, o + pieceBytes)));
  out.push(...c.flush());
  return { out, chunker: c };
}

describe('TsChunker', () => {
  it('re-frames the sample into 7-packet payloads whose concatenation is the file, in any read size', () => {
    for (const piece of [1316, 4096, 1, 188 * 3 + 5]) {
      const { out } = chunkAll(sample.subarray(0, 188 * 700), piece);
      const joined = Buffer.concat(out.map((c) => c.payload));
      expect(joined.equals(Buffer.from(sample.subarray(0, 188 * 700)))).toBe(true);
      expect(out.slice(0, -1).every((c) => c.payload.length === 7 * TS_PACKET_BYTES)).toBe(true);
    }
  });

  it('times chunks by the PCR: monotonic, starting at 0, spanning the 23 s sample', () => {
    const { out } = chunkAll(sample, 65536);
    expect(out[0]!.pcrTicks).toBe(0);
    for (let i = 1; i < out.length; i++)
      expect(out[i]!.pcrTicks).toBeGreaterThanOrEqual(out[i - 1]!.pcrTicks);
    const lastMs = pcrTicksToMs(out.at(-1)!.pcrTicks);
    expect(lastMs).toBeGreaterThan(22_000);
    expect(lastMs).toBeLessThan(25_000);
  });

  it('keeps the clock going across PCR discontinuities: a looped file, a jump ahead by an hour', () => {
    const shifted = (by: number) => {
      const copy = sample.slice();
      for (let o = 0; o + TS_PACKET_BYTES <= copy.length; o += TS_PACKET_BYTES) {
        const pcr = readPcr(copy, o);
        if (pcr === undefined) continue;
        const v = (pcr + by) % (2 ** 33 * 300);
        const base = Math.floor(v / 300);
        const ext = v % 300;
        copy.set(
          [
            Math.floor(base / 2 ** 25) & 0xff,
            Math.floor(base / 2 ** 17) & 0xff,
            Math.floor(base / 2 ** 9) & 0xff,
            Math.floor(base / 2) & 0xff,
            ((base & 1) << 7) | 0x7e | (ext >> 8),
            ext & 0xff,
          ],
          o + 6,
        );
        expect(readPcr(copy, o)).toBe(v);
      }
      return copy;
    };
    for (const second of [sample, shifted(3600 * 27_000_000)]) {
      const { out, chunker } = chunkAll(Buffer.concat([sample, second]), 65536);
      expect(chunker.pcrDiscontinuities).toBe(1);
      for (let i = 1; i < out.length; i++)
        expect(out[i]!.pcrTicks).toBeGreaterThanOrEqual(out[i - 1]!.pcrTicks);
      const lastMs = pcrTicksToMs(out.at(-1)!.pcrTicks);
      expect(lastMs).toBeGreaterThan(44_000);
      expect(lastMs).toBeLessThan(50_000);
    }
    expect(chunkAll(sample, 65536).chunker.pcrDiscontinuities).toBe(0);
  });

  it('skips garbage to regain sync and counts it', () => {
    const garbage = new Uint8Array([1, 2, 3]);
    const input = Buffer.concat([garbage, sample.subarray(0, 188 * 14)]);
    const { out, chunker } = chunkAll(input, 500);
    expect(chunker.discardedBytes).toBe(3);
    expect(Buffer.concat(out.map((c) => c.payload)).equals(Buffer.from(sample.subarray(0, 188 * 14)))).toBe(
      true,
    );
  });

  it('reads a 33-bit PCR base without 32-bit overflow', () => {
    const p = new Uint8Array(188);
    p[0] = 0x47;
    p[3] = 0x20; // adaptation field only
    p[4] = 7;
    p[5] = 0x10; // PCR flag
    // base = 2^33 - 1, extension = 299
    p.set([0xff, 0xff, 0xff, 0xff, 0x80 | 0x7e | 0x01, 0x2b], 6);
    expect(readPcr(p)).toBe((2 ** 33 - 1) * 300 + 299);
  });
});

describe('TsChunker on input that is not MPEG-TS', () => {
  it('takes no packet from text that happens to contain 0x47 (G)', () => {
    const text = new TextEncoder().encode('Getting Going: '.repeat(200));
    const { out, chunker } = chunkAll(text, 1000);
    expect(out).toEqual([]);
    expect(chunker.packets).toBe(0);
  });

  it('takes no packet from random bytes', () => {
    // Fixed-seed noise (xorshift32): truly random bytes carry a sync byte at i, i+188 and i+376 somewhere in 100 kB
    // about once in 170 runs, which a 3-packet lock rightly takes; a test must give the same answer every time.
    let x = 0x2545f491;
    const noise = new Uint8Array(100_000).map(() => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    });
    const { chunker } = chunkAll(noise, 4096);
    expect(chunker.packets).toBe(0);
  });
});
