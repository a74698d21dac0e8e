// A receiver for any standard SRTP stream, with keys given up front (SDES a=crypto, or keys typed in):
// no key server, no key messages. Unicast or multicast in, the original RTP payload out to the sinks.
// It wraps SrtpReceiver (src/srtp/receiver.ts) and adds only the socket, the ROC hint and the counters.
import { isIPv4 } from 'node:net';
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { asKeyId, asSsrc, type Ssrc } from '../ids.js';
import { decodeRtpHeader } from '../packet/rtp-header.js';
import {
  SrtpReceiver,
  type MkiLengthBytes,
  type SrtpProfileName,
  type SrtpRejectReason,
} from '../srtp/index.js';
import type { MediaSink } from './sinks.js';

/** One master key; `mki` is its MKI value (absent when the stream carries no MKI). */
export interface StaticKey {
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  readonly mki?: number;
  /**
   * The key's lifetime in packets (an `a=crypto` lifetime, RFC 4568 §6.1): packets under this key beyond that many
   * are refused as `key_lifetime`, even when they authenticate (RFC 3711 §9.2).
   */
  readonly lifetimePackets?: number;
}

export type StaticSource =
  | { readonly kind: 'unicast'; readonly address: string; readonly port: number }
  | {
      readonly kind: 'multicast';
      readonly group: string;
      readonly port: number;
      readonly interfaceAddress: string;
    };

export interface StaticReceiverOptions {
  readonly profile: SrtpProfileName;
  readonly mkiLengthBytes: MkiLengthBytes;
  readonly keys: readonly StaticKey[];
  readonly source: StaticSource;
  readonly sinks: readonly MediaSink[];
  readonly log: Logger;
  /**
   * The rollover counter of the first packet of each stream (a receiver started after the sequence number
   * wrapped; RFC 3711 §3.3.1). Without it a stream starts at ROC 0, as every standard peer does.
   */
  readonly roc?: number;
  /** Only packets of this SSRC are decrypted; others are rejected as `other_ssrc`. */
  readonly ssrc?: Ssrc;
}

export type StaticRejectReason = SrtpRejectReason | 'other_ssrc' | 'key_lifetime';

export interface StaticReceiverStats {
  packetsReceived: number;
  packetsDecrypted: number;
  packetsRejected: number;
  rejectedByReason: Partial<Record<StaticRejectReason, number>>;
  payloadBytes: number;
  firstIndex: number | null;
  lastIndex: number | null;
}

export class StaticReceiver {
  readonly stats: StaticReceiverStats = {
    packetsReceived: 0,
    packetsDecrypted: 0,
    packetsRejected: 0,
    rejectedByReason: {},
    payloadBytes: 0,
    firstIndex: null,
    lastIndex: null,
  };
  readonly #opts: StaticReceiverOptions;
  readonly #srtp: SrtpReceiver;
  /** Lifetime in packets by key id (the MKI, or 0), and packets used under each so far. */
  readonly #lifetimes = new Map<number, number>();
  readonly #used = new Map<number, number>();
  readonly #socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  /** SSRCs with at least one authenticated packet: from then on the ROC hint never touches them again. */
  readonly #authenticated = new Set<Ssrc>();
  #lastPacketAtMs = 0;

  constructor(opts: StaticReceiverOptions) {
    this.#opts = opts;
    this.#srtp = new SrtpReceiver({ profile: opts.profile, mkiLengthBytes: opts.mkiLengthBytes });
    if (opts.keys.length === 0) throw new Error('StaticReceiver: at least one key is needed');
    if (opts.mkiLengthBytes === 0 && opts.keys.length > 1)
      throw new Error('StaticReceiver: several keys need an MKI each (a stream without MKI has one key)');
    opts.keys.forEach((k, i) => {
      if ((k.mki === undefined) !== (opts.mkiLengthBytes === 0))
        throw new Error(`StaticReceiver: key ${i + 1} ${k.mki === undefined ? 'has no' : 'has an'} MKI`);
      // The MKI is the key's id: SrtpReceiver looks keys up by the low mkiLengthBytes bytes of the id.
      this.#srtp.addKey({ keyId: asKeyId(k.mki ?? 0), masterKey: k.masterKey, masterSalt: k.masterSalt });
      if (k.lifetimePackets !== undefined) this.#lifetimes.set(k.mki ?? 0, k.lifetimePackets);
    });
    this.#socket.on('message', (m) => this.receive(m));
  }

  /** When the last datagram arrived (performance.now()), 0 before the first. */
  get lastPacketAtMs(): number {
    return this.#lastPacketAtMs;
  }

  async open(): Promise<void> {
    const s = this.#opts.source;
    const where = `${s.kind === 'unicast' ? s.address : s.group}:${s.port}`;
    if (!isIPv4(s.kind === 'unicast' ? s.address : s.group))
      throw new Error(`cannot receive on ${where}: IPv4 addresses only`);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'EADDRNOTAVAIL'
              ? `cannot receive on ${where}: not an address of this host (a unicast c= line or --listen must name one, e.g. 127.0.0.1)`
              : `cannot receive on ${where}: ${err.code ?? err.message}`,
          ),
        );
      this.#socket.once('error', failed);
      this.#socket.bind(s.port, s.kind === 'unicast' ? s.address : s.group, () => {
        this.#socket.off('error', failed);
        resolve();
      });
    });
    this.#socket.on('error', (err) => this.#opts.log.error({ err: err.message }, 'socket error'));
    if (s.kind === 'multicast') this.#socket.addMembership(s.group, s.interfaceAddress);
    try {
      this.#socket.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      // The kernel caps it at net.core.rmem_max; the default still works at modest rates.
    }
  }

  /** Handles one datagram. Public so tests can feed packets without a socket; never throws on any input. */
  receive(datagram: Uint8Array): void {
    this.stats.packetsReceived++;
    this.#lastPacketAtMs = performance.now();
    const header = decodeRtpHeader(datagram);
    if (!header.ok) return this.#reject(header.reason);
    const ssrc = asSsrc(header.header.ssrc);
    if (this.#opts.ssrc !== undefined && ssrc !== this.#opts.ssrc) return this.#reject('other_ssrc');
    // Until a packet of this SSRC authenticates, every packet re-seeds the stream at the hinted ROC, so a
    // forged first packet cannot fix the stream's index; after that the hint is never used again.
    if (this.#opts.roc !== undefined && !this.#authenticated.has(ssrc)) {
      this.#srtp.setStreamState(ssrc, { roc: this.#opts.roc, lastSeq: header.header.sequenceNumber });
    }
    const r = this.#srtp.unprotect(datagram);
    if (!r.ok) return this.#reject(r.reason);
    const lifetime = this.#lifetimes.get(r.keyId);
    if (lifetime !== undefined) {
      const used = (this.#used.get(r.keyId) ?? 0) + 1;
      if (used > lifetime) return this.#reject('key_lifetime');
      this.#used.set(r.keyId, used);
    }
    this.#authenticated.add(ssrc);
    this.stats.packetsDecrypted++;
    this.stats.firstIndex ??= r.index;
    this.stats.lastIndex = r.index;
    const payload = r.packet.subarray(r.payloadStart, r.payloadEnd);
    this.stats.payloadBytes += payload.byteLength;
    for (const sink of this.#opts.sinks) sink.write(r.packet, payload);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    await Promise.all(this.#opts.sinks.map((s) => s.close()));
  }

  #reject(reason: StaticRejectReason): void {
    this.stats.packetsRejected++;
    const by = this.stats.rejectedByReason;
    by[reason] = (by[reason] ?? 0) + 1;
  }
}
