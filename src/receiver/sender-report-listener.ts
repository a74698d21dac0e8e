// The receiver's RTCP side: SRTCP sender reports on the RTP port + 1 (RFC 3550 §11, RFC 3711 §3.4), verified
// under the stream's keys and counted. It has its own socket, SrtcpReceiver and counters, and hands nothing to the
// media path: a forged, replayed or broken RTCP packet is counted by reason and changes nothing else.
import dgram from 'node:dgram';
import type { KeyId, Ssrc } from '../ids.js';
import { unixMsOfNtp } from '../packet/rtcp.js';
import { SrtcpReceiver, type SrtcpRejectReason, type SrtpMasterKey, type SrtpParams } from '../srtp/index.js';
import { bindGroup, closeSocket } from './multicast-in.js';

export interface LastSenderReport {
  readonly ssrc: Ssrc;
  readonly cname: string;
  readonly srtcpIndex: number;
  /** The SR's NTP time as Unix ms. */
  readonly ntpUnixMs: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
}

export interface SrtcpStats {
  received: number;
  accepted: number;
  rejected: number;
  rejectedByReason: Partial<Record<SrtcpRejectReason, number>>;
  lastSenderReport: LastSenderReport | undefined;
}

export function emptySrtcpStats(): SrtcpStats {
  return { received: 0, accepted: 0, rejected: 0, rejectedByReason: {}, lastSenderReport: undefined };
}

export class SenderReportListener {
  readonly #srtcp: SrtcpReceiver;
  readonly #stats: SrtcpStats;
  readonly #socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });

  /** Counts into `stats`. Retired keys verify for `retireGraceMs`, as on the media path. */
  constructor(params: SrtpParams, stats: SrtcpStats, retireGraceMs: number) {
    this.#srtcp = new SrtcpReceiver({ ...params, retireGraceMs });
    this.#stats = stats;
  }

  async open(group: string, port: number, iface: string): Promise<void> {
    await bindGroup(this.#socket, group, port, iface);
    this.#socket.on('message', (msg) => this.onDatagram(msg));
  }

  async close(): Promise<void> {
    await closeSocket(this.#socket);
  }

  addKey(key: SrtpMasterKey): void {
    this.#srtcp.addKey(key);
  }

  retireKey(keyId: KeyId): void {
    this.#srtcp.retireKey(keyId);
  }

  prune(): void {
    this.#srtcp.prune();
  }

  onDatagram(bytes: Uint8Array): void {
    this.#stats.received++;
    const r = this.#srtcp.unprotect(bytes);
    if (!r.ok) {
      this.#stats.rejected++;
      const by = this.#stats.rejectedByReason;
      by[r.reason] = (by[r.reason] ?? 0) + 1;
      return;
    }
    this.#stats.accepted++;
    const sr = r.packets[0];
    if (sr?.type !== 'sr') return; // an RR from another member: verified, nothing to note
    this.#stats.lastSenderReport = {
      ssrc: sr.ssrc,
      cname: r.cname,
      srtcpIndex: r.index,
      ntpUnixMs: unixMsOfNtp(sr.ntp),
      rtpTimestamp: sr.rtpTimestamp,
      packetCount: sr.packetCount,
      octetCount: sr.octetCount,
    };
  }
}
