// The sender: MPEG-TS in → RTP/MP2T → SRTP under the current content key → multicast, with key rotation
// every crypto period and the signed key messages on their own port as a carousel.
import { setTimeout as sleep } from 'node:timers/promises';
import { asSsrc, type KeyId, type Ssrc } from '../ids.js';
import { randomBytes } from '../crypto/random.js';
import { RTP_PAYLOAD_TYPE_MP2T, MP2T_CLOCK_HZ, PCR_CLOCK_HZ } from '../packet/mpegts.js';
import { encodeRtpHeader } from '../packet/rtp-header.js';
import { SrtpSender, srtpParams } from '../srtp/index.js';
import { SenderReports } from './sender-reports.js';
import { KeyServerRefusalError } from '../server/client.js';
import { MulticastOut } from './multicast-out.js';
import { TsChunker, pcrTicksToMs, type MediaChunk } from './ts-chunker.js';
import type { IssuedContentKey, SegmentRange, SenderOptions, SenderProgress } from './types.js';

export type * from './types.js';

interface Queued {
  readonly chunk: MediaChunk;
  /** Media time from the first chunk, 27 MHz ticks. */
  readonly ticks: number;
  readonly period: number;
}

/** Give up on an input that has shown no MPEG-TS packet in this many bytes. */
const NOT_TS_AFTER_BYTES = 1 << 20;

function notTs(bytes: number): Error {
  return new Error(`the input is not MPEG-TS: no 188-byte packets with sync bytes in ${bytes} bytes`);
}

/** How long after its period a key message stays valid: late packets and slow receivers. */
const KEY_MESSAGE_GRACE_MS = 2000;

interface Announced {
  readonly period: number;
  readonly issued: IssuedContentKey;
  readonly announcedAtMs: number;
}

const RTP_SEQ_START_LIMIT = 2 ** 15; // the sender starts its sequence number below 2^15
const DEFAULT_RTCP_INTERVAL_MS = 1000;

export class Sender {
  readonly ssrc: Ssrc;
  readonly #opts: SenderOptions;
  readonly #srtp: SrtpSender;
  readonly #out: MulticastOut;
  /** SRTCP sender reports on port + 1, unless turned off (rtcpIntervalMs 0). */
  readonly #reports: SenderReports | undefined;
  readonly #keys = new Map<number, Promise<Announced>>();
  readonly #carousel: Announced[] = [];
  /** The newest segment_key message of each segment still on the air (at most the current and the next). */
  readonly #segmentKeyMessages = new Map<number, Uint8Array>();
  #carouselTimer: NodeJS.Timeout | undefined;
  #seq: number;
  #roc = 0;
  #period = -1;
  #packetsSent = 0;
  #bytesSent = 0;
  #keysRotated = 0;
  #keyId: KeyId | undefined;
  #mediaMs = 0;
  #wallStartMs = 0;
  #progressAtMs = 0;
  #overdue: Announced | undefined;
  /** The crypto period of the key in use (its segment decides whether the stream may stay on it). */
  #keyPeriod = -1;
  /** Announcements whose key has been issued, by period (#keys holds them as promises). */
  readonly #issued = new Map<number, Announced>();
  /** Aborts the background retries at close. */
  readonly #closing = new AbortController();
  #closed = false;
  /** A final refusal met while retrying in the background; the next packet throws it. */
  #fatal: Error | undefined;
  readonly #firstPeriod: number;
  #lastIssue: Promise<unknown> = Promise.resolve();
  /** Per segment sent: its packets and TS bytes (see SegmentRange). */
  readonly #segmentRanges: { -readonly [K in keyof SegmentRange]: SegmentRange[K] }[] = [];
  #tsBytesSent = 0;

  constructor(opts: SenderOptions) {
    const { programme } = opts;
    if (programme.segmentLengthMs % programme.cryptoPeriodMs !== 0) {
      throw new Error('segment length must be a whole number of crypto periods');
    }
    this.#opts = opts;
    this.ssrc = opts.ssrc ?? asSsrc(randomUint32() || 1);
    this.#seq = opts.initialSeq ?? randomUint32() % RTP_SEQ_START_LIMIT;
    // A programme already on the air (a restarted sender) resumes with a fresh segment after the newest one.
    const periodsPerSegment = programme.segmentLengthMs / programme.cryptoPeriodMs;
    this.#firstPeriod =
      programme.latestSegment === null ? 0 : (programme.latestSegment + 1) * periodsPerSegment;
    this.#srtp = new SrtpSender(srtpParams(programme));
    if (this.#srtp.keyChange === 'phase') checkPhasePeriod(programme.cryptoPeriodMs, this.#lookaheadMs());
    this.#out = new MulticastOut(programme.group, opts.interfaceAddress, opts.ttl, opts.log);
    const rtcpIntervalMs = opts.rtcpIntervalMs ?? DEFAULT_RTCP_INTERVAL_MS;
    this.#reports =
      rtcpIntervalMs === 0
        ? undefined
        : new SenderReports({
            params: srtpParams(programme),
            ssrc: this.ssrc,
            cname: opts.cname ?? `keycast-sender-${this.ssrc}@${opts.interfaceAddress}`,
            intervalMs: rtcpIntervalMs,
            rtpClockRate: MP2T_CLOCK_HZ * (opts.paced ? opts.speed : 1),
            send: (packet) => this.#out.send(packet, programme.port + 1),
            counts: () => ({ packets: this.#packetsSent, payloadOctets: this.#tsBytesSent }),
            log: opts.log,
          });
  }

  get progress(): SenderProgress {
    return {
      packetsSent: this.#packetsSent,
      bytesSent: this.#bytesSent,
      keysRotated: this.#keysRotated,
      keyId: this.#keyId,
      segment: this.#segmentOf(Math.max(this.#firstPeriod, this.#period)),
      segmentsSent:
        this.#period < this.#firstPeriod
          ? 0
          : this.#segmentOf(this.#period) - this.#segmentOf(this.#firstPeriod) + 1,
      mediaMs: this.#mediaMs,
      reportsSent: this.#reports?.sent ?? 0,
    };
  }

  /** Where each segment this run sent lies, by SRTP index and TS byte offset, in order. */
  get segmentRanges(): readonly SegmentRange[] {
    return this.#segmentRanges.map((r) => ({ ...r }));
  }

  async open(): Promise<void> {
    await this.#out.open();
    this.#carouselTimer = setInterval(() => this.#sendCarousel(), this.#opts.carouselIntervalMs);
    this.#reports?.start();
  }

  /**
   * Sends the whole input; resolves when the last packet has gone.
   *
   * Input is read `lookaheadMs` of media ahead of what is sent. A content key is requested and announced as soon
   * as the first chunk of its crypto period is read, so (1) it is on the air for the look-ahead before its first
   * packet, (2) its key message names the exact sequence number and ROC of that first packet, and (3) no key is
   * ever announced for media that does not exist (a receiver buying per segment is never sold a segment past the
   * end of the programme).
   */
  async run(media: AsyncIterable<Uint8Array>): Promise<SenderProgress> {
    const chunker = new TsChunker();
    const queue: Queued[] = [];
    let firstTicks: number | undefined;
    let announced = this.#firstPeriod - 1;
    let queuedPackets = 0;
    const lookaheadTicks = (this.#lookaheadMs() * PCR_CLOCK_HZ) / 1000;
    const enqueue = (chunk: MediaChunk) => {
      firstTicks ??= chunk.pcrTicks;
      const ticks = chunk.pcrTicks - firstTicks;
      const period =
        this.#firstPeriod + Math.floor(pcrTicksToMs(ticks) / this.#opts.programme.cryptoPeriodMs);
      if (period > announced) {
        // The first packet of this period goes out after everything already queued.
        const at = this.#sequenceAfter(queuedPackets);
        for (let p = announced + 1; p <= period; p++) this.#announce(p, at);
        announced = period;
      }
      queue.push({ chunk, ticks, period });
      queuedPackets++;
    };
    const sendHead = async () => {
      const q = queue.shift()!;
      queuedPackets--;
      await this.#send(q);
    };
    this.#wallStartMs = performance.now();
    let discontinuities = 0;
    for await (const bytes of media) {
      const chunks = chunker.push(bytes);
      if (chunker.packets === 0 && chunker.discardedBytes > NOT_TS_AFTER_BYTES)
        throw notTs(chunker.discardedBytes);
      if (chunker.pcrDiscontinuities > discontinuities) {
        discontinuities = chunker.pcrDiscontinuities;
        this.#opts.log.warn(
          { pcrDiscontinuities: discontinuities, mediaMs: Math.round(this.#mediaMs) },
          'PCR discontinuity in the input (a loop, splice or encoder restart): the media clock goes on at the byte rate',
        );
      }
      for (const chunk of chunks) {
        enqueue(chunk);
        while (queue.length > 0 && queue.at(-1)!.ticks - queue[0]!.ticks > lookaheadTicks) await sendHead();
      }
    }
    for (const chunk of chunker.flush()) enqueue(chunk);
    if (chunker.packets === 0) throw notTs(chunker.discardedBytes);
    while (queue.length > 0) await sendHead();
    return this.progress;
  }

  async close(): Promise<void> {
    clearInterval(this.#carouselTimer);
    this.#closed = true;
    this.#closing.abort();
    await this.#quiet();
    this.#reports?.stop(); // sends a last report, so its counts are the final ones
    await this.#out.close();
  }

  /** Media read ahead of sending: the announcement lead in media time, plus a margin for the key server. */
  #lookaheadMs(): number {
    return (this.#opts.leadMs + 500) * (this.#opts.paced ? this.#opts.speed : 1);
  }

  /** The sequence number and ROC of the packet `n` packets after the next one to go. */
  #sequenceAfter(n: number): { seq: number; roc: number } {
    const total = this.#seq + n;
    return { seq: total % 0x10000, roc: (this.#roc + Math.floor(total / 0x10000)) % 2 ** 32 };
  }

  async #send(q: Queued): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal;
    const { chunk, ticks, period } = q;
    this.#mediaMs = pcrTicksToMs(ticks);
    if (period !== this.#period) await this.#rotate(period);
    else this.#checkOverdue();
    if (this.#opts.paced) await this.#pace(this.#mediaMs);

    const header = encodeRtpHeader({
      version: 2,
      padding: false,
      marker: false,
      payloadType: RTP_PAYLOAD_TYPE_MP2T,
      sequenceNumber: this.#seq,
      timestamp: Math.floor((ticks * MP2T_CLOCK_HZ) / PCR_CLOCK_HZ) % 2 ** 32,
      ssrc: this.ssrc,
      csrcs: [],
    });
    const rtp = new Uint8Array(header.length + chunk.payload.length);
    rtp.set(header, 0);
    rtp.set(chunk.payload, header.length);
    const r = this.#srtp.protect(rtp);
    if (!r.ok) throw new Error(`SRTP protect failed: ${r.reason}`);
    this.#out.send(r.packet, this.#opts.programme.port);
    this.#reports?.noteRtp(rtpTimestampOf(rtp));
    this.#noteSegment(this.#segmentOf(period), chunk.payload.length);
    this.#packetsSent++;
    this.#bytesSent += r.packet.length;
    this.#seq = (this.#seq + 1) & 0xffff;
    if (this.#seq === 0) this.#roc++;
    // Every 50 packets, and at least every 200 ms, so a display next to receivers' counts is not behind them.
    const now = performance.now();
    if (this.#packetsSent % 50 === 0 || now - this.#progressAtMs >= 200) {
      this.#progressAtMs = now;
      this.#opts.onProgress?.(this.progress);
    }
  }

  /** Counts the packet just sent (at the current sequence number) into its segment's range. */
  #noteSegment(segment: number, tsBytes: number): void {
    const index = this.#roc * 0x10000 + this.#seq;
    const last = this.#segmentRanges.at(-1);
    if (last?.segment === segment) {
      last.lastIndex = index;
      last.packets++;
      last.tsByteEnd += tsBytes;
    } else {
      const start = this.#tsBytesSent;
      this.#segmentRanges.push({
        segment,
        firstIndex: index,
        lastIndex: index,
        packets: 1,
        tsByteStart: start,
        tsByteEnd: start + tsBytes,
      });
    }
    this.#tsBytesSent += tsBytes;
  }

  /** Waits until the wall clock reaches the chunk's media time (scaled by speed). */
  async #pace(mediaMs: number): Promise<void> {
    const due = this.#wallStartMs + mediaMs / this.#opts.speed;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
  }

  #segmentOf(period: number): number {
    const p = this.#opts.programme;
    return Math.floor((period * p.cryptoPeriodMs) / p.segmentLengthMs);
  }

  /**
   * Requests the key of `period` from the key server and puts its message on the air. Requests go one at a time in
   * period order, because the key server requires segments to move forward: a request the key server could not
   * answer (it is down, overloaded or slow) is asked again, with backoff, before any later period's, so an outage
   * never lets a later segment overtake an earlier one. Only the very first key, and final refusals, fail.
   */
  #announce(period: number, first: { seq: number; roc: number }): void {
    const pending = this.#lastIssue
      .then(() => this.#issue(period, first))
      .then((issued) => {
        const a: Announced = { period, issued, announcedAtMs: performance.now() };
        this.#issued.set(period, a);
        if (issued.segmentKeyMessage !== undefined) {
          const segment = this.#segmentOf(period);
          this.#segmentKeyMessages.set(segment, issued.segmentKeyMessage);
          this.#out.send(issued.segmentKeyMessage, this.#opts.programme.keyPort);
        }
        this.#carousel.push(a);
        this.#sendKeyMessage(a);
        this.#opts.log.info(
          { keyId: issued.keyId, period, segment: this.#segmentOf(period) },
          'content key announced',
        );
        return a;
      });
    // Failures surface when the key is needed (#rotate); until then they must not crash the process.
    pending.catch(() => undefined);
    this.#lastIssue = pending.catch(() => undefined);
    this.#keys.set(period, pending);
  }

  /** One period's key from the key server, asked again with backoff until it comes (see #announce). */
  async #issue(period: number, first: { seq: number; roc: number }): Promise<IssuedContentKey> {
    const p = this.#opts.programme;
    const scale = this.#opts.paced ? this.#opts.speed : 1;
    for (let attempt = 0, delayMs = 500; ; attempt++, delayMs = Math.min(delayMs * 2, 8000)) {
      // A retry for a period already reached (the stream waits for it, or stays on an earlier key of the same
      // segment) activates at the next packet, not where it was first placed.
      const at = attempt > 0 && this.#period >= period ? this.#sequenceAfter(0) : first;
      const activatesAtMs = Math.round(Date.now() + this.#lookaheadMs() / scale);
      try {
        const issued = await this.#opts.issueContentKey({
          segment: this.#segmentOf(period),
          ssrc: this.ssrc,
          roc: at.roc,
          seq: at.seq,
          activatesAtMs,
          expiresAtMs: Math.round(activatesAtMs + p.cryptoPeriodMs / scale + KEY_MESSAGE_GRACE_MS),
        });
        // Phase mode: a key whose phase is taken (a lost answer made the server skip an id) is refused here, and
        // the next try gets the next id, of the other phase (docs/key-phase.md).
        const key = { keyId: issued.keyId, masterKey: issued.masterKey, masterSalt: issued.masterSalt };
        this.#srtp.addKey(key);
        this.#reports?.addKey(key);
        return issued;
      } catch (err) {
        if (period === this.#firstPeriod || isFinal(err) || this.#closed) throw err;
        if (attempt === 0) {
          this.#opts.log.error(
            { err: errorMessage(err), period, segment: this.#segmentOf(period) },
            'no content key for a coming crypto period: asking again with backoff',
          );
        }
        await sleep(delayMs, undefined, { signal: this.#closing.signal }); // rejects at close
        // The stream has moved on to a later period of the same segment (it stayed on an earlier key): this key
        // would never be used. The later period's request goes next.
        if (this.#period > period) throw new Error(`content key of period ${period} no longer needed`);
      }
    }
  }

  /**
   * Switches to the key of `period`. If the key server has not issued it yet (it is down), a period of the same
   * segment as the key in use keeps the stream on the air under that key and switches once the new key has been
   * on the air for the lead time. A new segment never goes out under the previous segment's key: a receiver
   * entitled to the earlier segment only must not decrypt any of the next, so the stream waits at the segment
   * boundary until the key server is back (its schedule slips by the wait). The very first key, and final
   * refusals, stop the sender.
   */
  async #rotate(period: number): Promise<void> {
    const pending = this.#keys.get(period);
    if (pending === undefined) throw new Error(`no content key was requested for period ${period}`);
    this.#period = period;
    let next = this.#issued.get(period);
    const sameSegment =
      this.#keyId !== undefined && this.#segmentOf(period) === this.#segmentOf(this.#keyPeriod);
    if (next === undefined && sameSegment) {
      this.#opts.log.warn(
        { period, keyId: this.#keyId },
        'content key of the new crypto period not issued yet: staying on the current key (same segment)',
      );
      pending.then(
        (a) => {
          if (this.#period === period) this.#overdue = a;
        },
        (err: unknown) => {
          if (isFinal(err)) this.#fatal = err;
        },
      );
      return;
    }
    if (next === undefined) {
      if (this.#keyId !== undefined) {
        this.#opts.log.warn(
          { period, segment: this.#segmentOf(period) },
          'no content key for the new segment yet: holding the stream at the segment boundary',
        );
      }
      const t0 = performance.now();
      next = await pending;
      this.#wallStartMs += performance.now() - t0;
    }
    // Never use a key before it has been on the air for the lead time.
    const waitMs = next.announcedAtMs + this.#opts.leadMs - performance.now();
    if (waitMs > 0) {
      await sleep(waitMs);
      this.#wallStartMs += waitMs; // the programme's schedule slips by the wait, not the packets
    }
    this.#switchTo(next);
  }

  #switchTo(next: Announced): void {
    const previous = this.#keyId;
    this.#overdue = undefined;
    this.#srtp.activate(next.issued.keyId);
    this.#reports?.activate(next.issued.keyId);
    this.#keyId = next.issued.keyId;
    this.#keyPeriod = next.period;
    if (previous !== undefined) {
      this.#keysRotated++;
      this.#srtp.retire(previous);
      this.#reports?.retire(previous);
    }
    // Past periods leave the carousel.
    for (let i = this.#carousel.length - 1; i >= 0; i--) {
      if (this.#carousel[i]!.period < next.period) this.#carousel.splice(i, 1);
    }
    for (const k of this.#keys.keys()) if (k < next.period) this.#keys.delete(k);
    for (const k of this.#issued.keys()) if (k < next.period) this.#issued.delete(k);
    const segment = this.#segmentOf(next.period);
    for (const s of this.#segmentKeyMessages.keys()) if (s < segment) this.#segmentKeyMessages.delete(s);
    this.#opts.onProgress?.(this.progress);
  }

  /** Switches to an overdue key once it has been on the air for the lead time; checked before each packet. */
  #checkOverdue(): void {
    const a = this.#overdue;
    if (a !== undefined && performance.now() - a.announcedAtMs >= this.#opts.leadMs) this.#switchTo(a);
  }

  /** Waits for announcements still in flight, so none is left dangling at close. */
  async #quiet(): Promise<void> {
    await Promise.allSettled(this.#keys.values());
  }

  #sendKeyMessage(a: Announced): void {
    this.#out.send(a.issued.keyMessage, this.#opts.programme.keyPort);
  }

  #sendCarousel(): void {
    for (const m of this.#segmentKeyMessages.values()) this.#out.send(m, this.#opts.programme.keyPort);
    for (const a of this.#carousel) this.#sendKeyMessage(a);
  }
}

/**
 * Phase mode names a key by one bit, so a receiver holds one key per phase: the key after next takes the phase
 * of the current one when its message arrives. Keys are announced `lookaheadMs` of media ahead, so the crypto
 * period must be longer, and what is left is how late a packet of the old key may still arrive and decrypt
 * (docs/key-phase.md, "minimum key period").
 */
function checkPhasePeriod(cryptoPeriodMs: number, lookaheadMs: number): void {
  if (cryptoPeriodMs <= lookaheadMs) {
    throw new Error(
      `key change 'phase' needs a crypto period longer than the key announcement look-ahead ` +
        `(${cryptoPeriodMs} ms <= ${Math.round(lookaheadMs)} ms of media: (lead + 500 ms) x speed); ` +
        `lengthen the crypto period, or shorten --lead or --speed`,
    );
  }
}

function randomUint32(): number {
  const b = randomBytes(4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}

/** The RTP timestamp field of a packet this sender built (fixed 12-byte header). */
function rtpTimestampOf(rtp: Uint8Array): number {
  return new DataView(rtp.buffer, rtp.byteOffset, 12).getUint32(4);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A key-server refusal that asking again will not change. */
function isFinal(err: unknown): err is KeyServerRefusalError {
  return err instanceof KeyServerRefusalError && !err.refusal.retryable;
}
