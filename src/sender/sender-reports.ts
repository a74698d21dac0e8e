// The sender's RTCP: a compound sender report (SR + SDES CNAME, RFC 3550 §6.4.1) about once per interval,
// protected as SRTCP under the same key and MKI as the media (RFC 3711 §3.4), handed to `send` (the multicast
// group on the RTP port + 1). The SR's counts are the RTP packets and payload octets sent so far; its RTP
// timestamp is the last packet's plus the wall time since, so it names the same instant as its NTP time.
import type { Logger } from 'pino';
import type { KeyId, Ssrc } from '../ids.js';
import { encodeSenderReportCompound, ntpOfUnixMs } from '../packet/rtcp.js';
import { SrtcpSender, type SrtpMasterKey, type SrtpParams } from '../srtp/index.js';

const U32 = 0x1_0000_0000;

export interface SenderReportsOptions {
  readonly params: SrtpParams;
  readonly ssrc: Ssrc;
  readonly cname: string;
  readonly intervalMs: number;
  /** RTP timestamp ticks per wall-clock second (90 kHz times the pacing speed). */
  readonly rtpClockRate: number;
  readonly send: (srtcp: Uint8Array) => void;
  readonly counts: () => { readonly packets: number; readonly payloadOctets: number };
  readonly log: Logger;
  /** Wall clock in Unix ms; default Date.now. */
  readonly now?: () => number;
}

export class SenderReports {
  readonly #opts: SenderReportsOptions;
  readonly #srtcp: SrtcpSender;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastRtp: { timestamp: number; atMs: number } | undefined;
  #sent = 0;
  #stopped = false;

  constructor(opts: SenderReportsOptions) {
    if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) {
      throw new RangeError(`RTCP interval must be a positive number of ms, got ${opts.intervalMs}`);
    }
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#srtcp = new SrtcpSender(opts.params);
  }

  /** Reports sent so far. */
  get sent(): number {
    return this.#sent;
  }

  addKey(key: SrtpMasterKey): void {
    this.#srtcp.addKey(key);
  }

  activate(keyId: KeyId): void {
    this.#srtcp.activate(keyId);
  }

  retire(keyId: KeyId): void {
    this.#srtcp.retire(keyId);
  }

  /** Called after each RTP packet goes out, with its RTP timestamp. */
  noteRtp(timestamp: number): void {
    this.#lastRtp = { timestamp, atMs: this.#now() };
  }

  start(): void {
    this.#timer = setInterval(() => this.sendReport(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and sends a last report (if anything was sent), so the receivers see the final counts. */
  stop(): void {
    clearInterval(this.#timer);
    if (!this.#stopped) this.sendReport();
    this.#stopped = true;
  }

  /** Sends one SR now. Nothing before the first RTP packet (no key is active yet, and nothing to report). */
  sendReport(): void {
    const last = this.#lastRtp;
    if (last === undefined || this.#stopped) return;
    const nowMs = this.#now();
    const counts = this.#opts.counts();
    const elapsedTicks = Math.round(((nowMs - last.atMs) * this.#opts.rtpClockRate) / 1000);
    const rtcp = encodeSenderReportCompound(
      {
        ssrc: this.#opts.ssrc,
        ntp: ntpOfUnixMs(nowMs),
        rtpTimestamp: (last.timestamp + elapsedTicks) % U32,
        packetCount: counts.packets % U32,
        octetCount: counts.payloadOctets % U32,
      },
      this.#opts.cname,
    );
    const r = this.#srtcp.protect(rtcp);
    if (!r.ok) {
      this.#refused(r.reason);
      return;
    }
    this.#opts.send(r.packet);
    this.#sent++;
  }

  #refused(reason: string): void {
    if (reason === 'index_exhausted') {
      // RFC 3711 §9.2: 2^31 SRTCP packets per stream at most; the index must never wrap under the same keys.
      this.#opts.log.error(
        { ssrc: this.#opts.ssrc },
        'SRTCP index exhausted (2^31 reports sent): no more sender reports on this SSRC (RFC 3711 §9.2)',
      );
      clearInterval(this.#timer);
      this.#stopped = true;
      return;
    }
    this.#opts.log.warn({ reason }, 'SRTCP sender report not sent');
  }
}
