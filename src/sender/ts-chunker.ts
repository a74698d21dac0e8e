// Cuts an MPEG-TS byte stream into RTP/MP2T payloads (RFC 2250: 7 TS packets each) and gives each the
// media time of its first byte, interpolated between PCRs as a CBR multiplexer intends (ISO/IEC 13818-1 §2.4.2.2).
import {
  PCR_CLOCK_HZ,
  TS_PACKET_BYTES,
  TS_PACKETS_PER_RTP,
  TS_SYNC_BYTE,
  pcrDelta,
  readPcr,
  tsPid,
} from '../packet/mpegts.js';

export interface MediaChunk {
  /** A whole number of TS packets, at most 7. */
  readonly payload: Uint8Array;
  /**
   * Media time of the chunk's first byte in 27 MHz ticks from the stream's first PCR (unwrapped), never
   * decreasing: across a PCR discontinuity (a PCR going back, or jumping ahead by more than MAX_PCR_STEP_TICKS: an
   * encoder restart, a looped file, a splice) the clock goes on at the stream's byte rate instead.
   */
  readonly pcrTicks: number;
}

/**
 * PCRs come at least every 100 ms (ISO/IEC 13818-1 §2.7.2); a step of more than a second between two of them is a
 * discontinuity, not elapsed time. (Without this a looped file would send the sender back to a crypto period it
 * has left, and a jump ahead would ask the key server for every period and segment in between.)
 */
export const MAX_PCR_STEP_TICKS = PCR_CLOCK_HZ;

interface Pending {
  readonly payload: Uint8Array;
  readonly position: number;
}

export class TsChunker {
  #carry = new Uint8Array(0);
  #current: Uint8Array[] = [];
  #currentPosition = 0;
  #position = 0; // bytes of TS packets seen
  #pending: Pending[] = [];
  #pcrPid: number | undefined;
  #lastPcr: { position: number; ticks: number; raw: number } | undefined;
  #ticksPerByte = 0;
  #discardedBytes = 0;
  #pcrDiscontinuities = 0;
  #locked = false;
  #packets = 0;

  /** TS packets taken in so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Bytes skipped to regain TS sync (garbage between packets). */
  /** PCR steps taken as discontinuities (see MediaChunk.pcrTicks). */
  get pcrDiscontinuities(): number {
    return this.#pcrDiscontinuities;
  }

  get discardedBytes(): number {
    return this.#discardedBytes;
  }

  push(bytes: Uint8Array): MediaChunk[] {
    const data = this.#carry.length === 0 ? bytes : concat(this.#carry, bytes);
    let offset = 0;
    const out: MediaChunk[] = [];
    while (data.length - offset >= TS_PACKET_BYTES) {
      if (!this.#locked) {
        // Regain sync only where SYNC_CONFIRM_PACKETS sync bytes line up 188 apart: one 0x47 is just a byte.
        const sync = syncAt(data, offset);
        if (sync === 'need_more') break;
        if (sync === 'no') {
          offset++;
          this.#discardedBytes++;
          continue;
        }
        this.#locked = true;
      }
      if (data[offset] !== TS_SYNC_BYTE) {
        this.#locked = false;
        continue;
      }
      this.#packet(data.subarray(offset, offset + TS_PACKET_BYTES), out);
      offset += TS_PACKET_BYTES;
    }
    this.#carry = data.slice(offset);
    return out;
  }

  /** End of input: emits what is left, timed by the last known rate. */
  flush(): MediaChunk[] {
    if (this.#current.length > 0) this.#closeChunk();
    const out: MediaChunk[] = [];
    const last = this.#lastPcr;
    for (const p of this.#pending) {
      const ticks = last === undefined ? 0 : last.ticks + (p.position - last.position) * this.#ticksPerByte;
      out.push({ payload: p.payload, pcrTicks: Math.max(0, ticks) });
    }
    this.#pending = [];
    return out;
  }

  #packet(packet: Uint8Array, out: MediaChunk[]): void {
    this.#packets++;
    if (this.#current.length === 0) this.#currentPosition = this.#position;
    this.#current.push(packet);
    const pcr = readPcr(packet);
    const pid = tsPid(packet);
    if (pcr !== undefined && (this.#pcrPid === undefined || this.#pcrPid === pid)) {
      this.#pcrPid = pid;
      this.#onPcr(this.#position, pcr, out);
    }
    this.#position += TS_PACKET_BYTES;
    if (this.#current.length === TS_PACKETS_PER_RTP) this.#closeChunk();
  }

  #closeChunk(): void {
    this.#pending.push({ payload: concat(...this.#current), position: this.#currentPosition });
    this.#current = [];
  }

  #onPcr(position: number, raw: number, out: MediaChunk[]): void {
    const last = this.#lastPcr;
    let ticks = 0;
    if (last !== undefined) {
      const bytes = position - last.position;
      const step = pcrDelta(last.raw, raw);
      if (step < 0 || step > MAX_PCR_STEP_TICKS) {
        this.#pcrDiscontinuities++;
        ticks = last.ticks + bytes * this.#ticksPerByte; // the clock goes on at the byte rate measured so far
      } else {
        ticks = last.ticks + step;
        if (bytes > 0 && step > 0) this.#ticksPerByte = step / bytes;
      }
    }
    this.#lastPcr = { position, ticks, raw };
    // Everything that starts at or before this PCR can now be timed.
    let i = 0;
    for (; i < this.#pending.length; i++) {
      const p = this.#pending[i]!;
      if (p.position > position) break;
      const t = last === undefined ? 0 : last.ticks + (p.position - last.position) * this.#ticksPerByte;
      out.push({ payload: p.payload, pcrTicks: Math.max(0, Math.min(t, ticks)) });
    }
    this.#pending.splice(0, i);
  }
}

/** Sync bytes that must line up, 188 bytes apart, before the chunker trusts a 0x47. */
const SYNC_CONFIRM_PACKETS = 3;

function syncAt(data: Uint8Array, offset: number): 'yes' | 'no' | 'need_more' {
  for (let i = 0; i < SYNC_CONFIRM_PACKETS; i++) {
    const at = offset + i * TS_PACKET_BYTES;
    if (at >= data.length) return 'need_more';
    if (data[at] !== TS_SYNC_BYTE) return 'no';
  }
  return 'yes';
}

export const pcrTicksToMs = (ticks: number): number => (ticks * 1000) / PCR_CLOCK_HZ;

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
