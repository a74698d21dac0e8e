// The receiver: multicast in → key messages verified → content keys unwrapped under segment keys fetched on
// need → SRTP unprotect → the original RTP packet (MKI and tag stripped) → TS out.
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { asProgrammeId, type KeyId, type Ssrc } from '../ids.js';
import { SrtpReceiver, srtpParams, type SrtpRejectReason, type SrtpUnprotectResult } from '../srtp/index.js';
import type { ProgrammeInfo } from '../server/client.js';
import { bindGroup, closeSocket } from './multicast-in.js';
import { PacketQueue } from './packet-queue.js';
import { SenderReportListener, emptySrtcpStats, type SrtcpStats } from './sender-report-listener.js';
import type { MediaSink } from './sinks.js';
import { SegmentKeys, type SegmentKeyFetcher } from './segment-keys.js';
import { ServiceKeys, type ServiceKeyFetcher } from './service-keys.js';
import {
  KeyMessageGate,
  type KeyMessageOpener,
  type OpenedContentKey,
  type OpenedSegmentKey,
} from './key-message-gate.js';
import { periodOf } from '../keys/service-key.js';
import { isFinalRefusal, rolloverCopy, segmentOf, type ContentKeyMaterial } from './rollover.js';
import { SessionMember, type SessionMemberOptions } from './session.js';

/** How long a subscriber's packets wait for a segment key by multicast before it asks the key server for it. */
const SUBSCRIBER_FALLBACK_MS = 1000;

/** How many key ids seen in packets, but not installed, the receiver remembers (see #wantKey). */
const MAX_NEEDED_KEYS = 16;

/** Why a media datagram produced no output: the SRTP reasons, plus the receiver's own. */
export type RejectReason = SrtpRejectReason | 'hold_overflow';

/** A packet that authenticated: the sender's RTP packet and where its payload lies. */
type Delivered = Pick<
  Extract<SrtpUnprotectResult, { ok: true }>,
  'packet' | 'payloadStart' | 'payloadEnd' | 'index' | 'ssrc' | 'keyId'
>;

export interface ReceiverOptions {
  readonly programme: ProgrammeInfo;
  readonly fetchSegmentKey: SegmentKeyFetcher;
  /**
   * Asks for the service key of (service, period) (POST /v1/keys/service). When given, the receiver asks once at
   * start for the current period's, unless `serviceKeys` holds it, and once for the next period's when segment_key
   * messages start to carry it. A subscriber holding the current period's SK takes every segment key from the
   * segment_key messages and never asks for one (claim 9).
   */
  readonly fetchServiceKey?: ServiceKeyFetcher;
  /** Service keys already held, e.g. kept from the purchase. */
  readonly serviceKeys?: readonly {
    readonly serviceId: number;
    readonly period: string;
    readonly key: Uint8Array;
  }[];
  readonly openKeyMessage: KeyMessageOpener;
  readonly interfaceAddress: string;
  readonly sinks: readonly MediaSink[];
  readonly log: Logger;
  /** Packets whose key has not arrived wait this long, in order, before they count as rejected. */
  readonly holdMs?: number;
  readonly holdPackets?: number;
  readonly now?: () => number;
  /**
   * A session programme (issue 4): join at open, content keys under the session's group key, acks, keep-alives,
   * leave at close (src/receiver/session.ts).
   */
  readonly session?: Omit<SessionMemberOptions, 'log' | 'onGroupKey' | 'now' | 'programmeId'>;
  /** Listen for SRTCP sender reports on port + 1 (verified and counted, never touching the media); default true. */
  readonly rtcp?: boolean;
}

export interface ReceiverStats {
  packetsReceived: number;
  packetsDecrypted: number;
  packetsRejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  keyMessages: { accepted: number; duplicate: number; rejected: Partial<Record<string, number>> };
  keysInstalled: number;
  segmentKeyRequests: number;
  serviceKeyRequests: number;
  /** Every key request the receiver made over HTTP: segment keys plus service keys. */
  keyRequests: number;
  refusals: { segment: number; code: string }[];
  serviceKeyRefusals: { period: string; code: string }[];
  /** Segment keys taken from segment_key messages under a service key. */
  segmentKeysFromMulticast: number;
  /** Segment keys taken from segment_key messages addressed to this client (wrapped under its client key). */
  segmentKeysAddressed: number;
  /** Content keys installed from their copy under the previous segment's key (claim 12 rollover). */
  rolloverKeys: number;
  firstDecryptedIndex: number | undefined;
  /** SRTCP on port + 1: received, accepted, rejected by reason, the last sender report. */
  srtcp: SrtcpStats;
}

export class Receiver {
  readonly stats: ReceiverStats = {
    packetsReceived: 0,
    packetsDecrypted: 0,
    packetsRejected: 0,
    rejectedByReason: {},
    keyMessages: { accepted: 0, duplicate: 0, rejected: {} },
    keysInstalled: 0,
    segmentKeyRequests: 0,
    serviceKeyRequests: 0,
    keyRequests: 0,
    refusals: [],
    serviceKeyRefusals: [],
    segmentKeysFromMulticast: 0,
    segmentKeysAddressed: 0,
    rolloverKeys: 0,
    firstDecryptedIndex: undefined,
    srtcp: emptySrtcpStats(),
  };
  readonly #opts: ReceiverOptions;
  readonly #srtp: SrtpReceiver;
  readonly #queue: PacketQueue;
  readonly #gate: KeyMessageGate;
  readonly #segmentKeys: SegmentKeys;
  readonly #serviceKeys: ServiceKeys;
  /** The session membership, for a session programme. */
  readonly session: SessionMember | undefined;
  /** When the key message of each live content key was issued (for packetsDecryptedAfterRemoval). */
  readonly #issuedAtMs = new Map<KeyId, number>();
  /** When packets of a subscriber's segment first waited for its segment key (see #wantKey). */
  readonly #waitingSince = new Map<number, number>();
  /** The newest segment_key message per segment, opened again when a service key arrives. */
  readonly #segmentKeyMessages = new Map<number, OpenedSegmentKey>();
  readonly #media = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  readonly #keys = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  /** SRTCP on port + 1: its own socket and key table, so a bad RTCP packet can never touch the media path. */
  readonly #reports: SenderReportListener | undefined;
  readonly #now: () => number;
  #drainTimer: NodeJS.Timeout | undefined;
  readonly #live = new Set<KeyId>();
  /** Key ids that packets arrived under before the key was installed: the stream needs them now (claim 12). */
  readonly #needed = new Set<KeyId>();
  /** SSRCs with at least one packet handed on. */
  readonly #started = new Set<Ssrc>();

  constructor(opts: ReceiverOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    const p = opts.programme;
    this.#srtp = new SrtpReceiver({
      ...srtpParams(p),
      retireGraceMs: Math.max(2000, p.cryptoPeriodMs),
    });
    this.#queue = new PacketQueue(opts.holdPackets ?? 4096, opts.holdMs ?? 3000);
    this.#gate = new KeyMessageGate(asProgrammeId(p.id), opts.openKeyMessage, this.#now);
    this.#segmentKeys = new SegmentKeys(opts.fetchSegmentKey, opts.log, {
      onRequest: () => {
        this.stats.segmentKeyRequests++;
        this.stats.keyRequests++;
      },
      onRefusal: (segment, code) => this.stats.refusals.push({ segment, code }),
      onKey: () => this.#installPending(),
    });
    this.#serviceKeys = new ServiceKeys(opts.fetchServiceKey, opts.log, {
      onRequest: () => {
        this.stats.serviceKeyRequests++;
        this.stats.keyRequests++;
      },
      onRefusal: (_serviceId, period, code) => this.stats.serviceKeyRefusals.push({ period, code }),
      onKey: () => {
        for (const m of this.#segmentKeyMessages.values()) this.#openSegmentKey(m);
      },
    });
    for (const k of opts.serviceKeys ?? []) this.#serviceKeys.add(k.serviceId, k.period, k.key);
    this.#reports =
      opts.rtcp === false
        ? undefined
        : new SenderReportListener(srtpParams(p), this.stats.srtcp, Math.max(2000, p.cryptoPeriodMs));
    this.session =
      opts.session === undefined
        ? undefined
        : new SessionMember({
            ...opts.session,
            programmeId: p.id,
            log: opts.log,
            now: this.#now,
            onGroupKey: () => this.#installPending(),
          });
  }

  /** Holds the current period's service key of the programme's service: segment keys come by multicast. */
  get subscriber(): boolean {
    return this.#serviceKeys.get(this.#opts.programme.serviceId, periodOf(this.#now())) !== undefined;
  }

  async open(): Promise<void> {
    const p = this.#opts.programme;
    // A service key opens only programmes a subscription covers: no pointless (logged, refused) request otherwise.
    const subscribable = p.pricing === 'subscription' || p.pricing === 'both';
    if (!this.subscriber && this.session === undefined && subscribable)
      await this.#serviceKeys.want(p.serviceId, periodOf(this.#now()));
    await Promise.all([
      bindGroup(this.#media, p.group, p.port, this.#opts.interfaceAddress),
      bindGroup(this.#keys, p.group, p.keyPort, this.#opts.interfaceAddress),
      this.#reports?.open(p.group, p.port + 1, this.#opts.interfaceAddress),
    ]);
    this.#media.on('message', (msg) => this.onMediaDatagram(msg));
    this.#keys.on('message', (msg) => this.onKeyDatagram(msg));
    this.#drainTimer = setInterval(() => {
      this.#subscriberFallback();
      this.#drain();
      this.#srtp.prune();
      this.#reports?.prune();
    }, 100);
    // Bound first, so that no group rekey multicast right after the join is missed.
    await this.session?.join();
  }

  async close(): Promise<void> {
    await this.session?.close();
    this.#segmentKeys.close();
    clearInterval(this.#drainTimer);
    this.#drain(true);
    await Promise.all([closeSocket(this.#media), closeSocket(this.#keys), this.#reports?.close()]);
    await Promise.all(this.#opts.sinks.map((s) => s.close()));
  }

  /** A datagram from the RTCP port (port + 1): SRTCP, verified and counted; never affects the media. */
  onRtcpDatagram(bytes: Uint8Array): void {
    this.#reports?.onDatagram(bytes);
  }

  /** A datagram from the key-message port (sockets call this; so can a test or another transport). */
  onKeyDatagram(bytes: Uint8Array): void {
    const r = this.#gate.accept(bytes);
    if (r.kind === 'duplicate') {
      this.stats.keyMessages.duplicate++;
      return;
    }
    if (r.kind === 'rejected') {
      const rej = this.stats.keyMessages.rejected;
      rej[r.reason] = (rej[r.reason] ?? 0) + 1;
      return;
    }
    this.stats.keyMessages.accepted++;
    if (r.kind === 'group_rekey') {
      this.session?.onGroupRekey(r.groupRekey);
      return;
    }
    if (r.kind === 'segment_key') {
      const m = r.segmentKey;
      // A copy addressed to this client by id (claims 7, 8, 30-32): the answer to its multicast request.
      if (this.#segmentKeys.peek(m.segment) === undefined) {
        const own = m.own();
        if (own !== undefined) {
          this.stats.segmentKeysAddressed++;
          this.#segmentKeys.put(m.segment, own);
        }
      }
      if (m.services.length === 0) return;
      this.#segmentKeyMessages.set(m.segment, m);
      for (const s of this.#segmentKeyMessages.keys())
        if (s < m.segment - 2) this.#segmentKeyMessages.delete(s);
      this.#openSegmentKey(m);
      return;
    }
    this.#installPending();
  }

  /** Takes the PSK from a segment_key message with a service key we hold; asks once for a coming period's key. */
  #openSegmentKey(m: OpenedSegmentKey): void {
    const serviceId = this.#opts.programme.serviceId;
    const periods = m.services.filter((s) => s.serviceId === serviceId).map((s) => s.period);
    if (this.subscriber) {
      // A subscriber asks for the next period's key once, when the messages start to carry it: ahead of the change.
      const current = periodOf(this.#now());
      for (const period of periods) {
        if (period > current && this.#serviceKeys.get(serviceId, period) === undefined)
          void this.#serviceKeys.want(serviceId, period);
      }
    }
    if (this.#segmentKeys.peek(m.segment) !== undefined) return;
    for (const period of periods) {
      const sk = this.#serviceKeys.get(serviceId, period);
      if (sk === undefined) continue;
      const psk = m.unwrap(serviceId, period, sk);
      if (psk === undefined) continue;
      this.stats.segmentKeysFromMulticast++;
      this.#segmentKeys.put(m.segment, psk);
      return;
    }
  }

  /**
   * Installs every announced content key whose segment key we hold; asks for the segment keys we lack. A content
   * key belongs to the newest segment its message names and is installed with that segment's key; the copy under
   * the previous segment's key (claim 12) only as #rolloverKey allows.
   */
  #installPending(): void {
    for (const ck of this.#gate.pending()) {
      if (this.#srtp.hasKey(ck.keyId)) {
        this.#gate.installed(ck.keyId);
        continue;
      }
      const key =
        this.session === undefined ? (this.#ownKey(ck) ?? this.#rolloverKey(ck)) : this.#groupKey(ck);
      if (key !== undefined) this.#install(ck, key);
    }
    this.#drain();
  }

  /** The content key under the key of its own segment; asks for that segment key (a subscriber waits for it). */
  #ownKey(ck: OpenedContentKey): ContentKeyMaterial | undefined {
    const segment = segmentOf(ck);
    if (segment === undefined) return undefined;
    const psk = this.subscriber ? this.#segmentKeys.peek(segment) : this.#segmentKeys.get(segment);
    return psk === undefined ? undefined : ck.unwrap(segment, psk);
  }

  /** A session programme's content key, under a group key the member holds (current or previous epochs). */
  #groupKey(ck: OpenedContentKey): ContentKeyMaterial | undefined {
    for (const epoch16 of ck.groupEpochs) {
      for (const g of this.session?.groupKeysFor(epoch16) ?? []) {
        const key = ck.unwrapGroup(g.key, g.epoch);
        if (key !== undefined) return key;
      }
    }
    return undefined;
  }

  /** The copy under the previous segment's key, when src/receiver/rollover.ts allows it (claim 12). */
  #rolloverKey(ck: OpenedContentKey): ContentKeyMaterial | undefined {
    const r = rolloverCopy(ck, this.#needed.has(ck.keyId), {
      held: (segment) => this.#segmentKeys.peek(segment),
      refusal: (segment) => this.#segmentKeys.refusal(segment),
    });
    if (r === undefined) return undefined;
    this.stats.rolloverKeys++;
    this.#opts.log.info(
      { keyId: ck.keyId, segment: segmentOf(ck), under: r.under },
      'content key taken under the previous segment key',
    );
    return r.key;
  }

  #install(ck: OpenedContentKey, key: ContentKeyMaterial): void {
    // The stream's index starts from the earliest key's first packet, whatever order the keys arrive in, until
    // a packet has been handed on (then the stream's own state rules).
    const state = this.#srtp.streamState(ck.ssrc);
    const first = ck.roc * 0x10000 + ck.seq;
    if (state === undefined || (!this.#started.has(ck.ssrc) && first < state.roc * 0x10000 + state.lastSeq)) {
      this.#srtp.setStreamState(ck.ssrc, { roc: ck.roc, lastSeq: ck.seq });
    }
    const master = { keyId: ck.keyId, masterKey: key.masterKey, masterSalt: key.masterSalt };
    this.#srtp.addKey(master);
    this.#reports?.addKey(master);
    this.#gate.installed(ck.keyId);
    this.#needed.delete(ck.keyId);
    // Key ids only increase: keep the newest two live, retire the rest (usable for a grace period, then zeroized).
    this.#live.add(ck.keyId);
    this.#issuedAtMs.set(ck.keyId, ck.issuedAtMs);
    const newest = Math.max(...this.#live);
    for (const id of this.#live) {
      if (id < newest - 1) {
        this.#srtp.retireKey(id);
        this.#reports?.retireKey(id);
        this.#live.delete(id);
      }
    }
    for (const id of this.#issuedAtMs.keys()) if (id < newest - 8) this.#issuedAtMs.delete(id);
    this.stats.keysInstalled++;
    this.#opts.log.info({ keyId: ck.keyId, segments: ck.segments }, 'content key installed');
  }

  /** A datagram from the media port. */
  onMediaDatagram(bytes: Uint8Array): void {
    this.stats.packetsReceived++;
    const r = this.#srtp.unprotect(bytes);
    if (!r.ok && r.reason !== 'unknown_key') {
      this.#reject(r.reason); // forged, damaged or replayed: counted, and nothing changed
      return;
    }
    if (r.ok && this.#queue.length === 0) {
      this.#deliver(r);
      return;
    }
    if (!r.ok) this.#wantKey(this.#missingKeyId(r));
    const dropped = this.#queue.push(
      r.ok ? { bytes, arrivedAtMs: this.#now(), decrypted: r } : { bytes, arrivedAtMs: this.#now() },
    );
    if (dropped) this.#reject('hold_overflow');
    this.#drain();
  }

  /**
   * Hands on queued packets in arrival order; stops at the first one still waiting for a key that is on its way
   * (announced by a verified key message). A packet under a key nobody announced waits only until a later packet
   * authenticates under a key we hold, or until it expires: forged packets with made-up key ids cannot stall the
   * stream.
   */
  #drain(final = false): void {
    const now = this.#now();
    for (let item = this.#queue.peek(); item !== undefined; item = this.#queue.peek()) {
      if (item.decrypted) {
        this.#queue.shift();
        this.#deliver(item.decrypted);
        continue;
      }
      const r = this.#srtp.unprotect(item.bytes);
      if (r.ok || r.reason !== 'unknown_key') {
        this.#queue.shift();
        if (r.ok) this.#deliver(r);
        else this.#reject(r.reason);
        continue;
      }
      // Worth waiting for only while its key is on the way: a key installed and since retired is not coming back,
      // nor one whose segment key the key server refused.
      const keyId = this.#missingKeyId(r);
      const coming = keyId !== undefined && this.#gate.isPending(keyId) && !this.#refused(keyId);
      const hopeless = !coming && this.#queue.decryptedCount > 0;
      if (!final && !hopeless && !this.#queue.isExpired(item, now)) return;
      this.#queue.shift();
      this.#reject('unknown_key');
    }
  }

  /**
   * The key a packet refused as unknown_key waits for: the MKI names it; in phase mode (docs/key-phase.md) the
   * phase names the oldest announced, not yet installed key of that phase.
   */
  #missingKeyId(r: { readonly keyId?: KeyId; readonly keyPhase?: 0 | 1 }): KeyId | undefined {
    if (r.keyId !== undefined || r.keyPhase === undefined) return r.keyId;
    let found: KeyId | undefined;
    for (const ck of this.#gate.pending()) {
      if (ck.keyId % 2 === r.keyPhase && (found === undefined || ck.keyId < found)) found = ck.keyId;
    }
    return found;
  }

  /** The key server refused the segment key of announced content key `keyId` for good (e.g. not_entitled). */
  #refused(keyId: KeyId): boolean {
    const ck = this.#gate.announced(keyId);
    // A removed session member gets no newer group key: packets under keys it cannot open are not worth waiting for.
    if (ck !== undefined && this.session?.removed === true && ck.segments.length === 0) return true;
    const segment = ck === undefined ? undefined : segmentOf(ck);
    return segment !== undefined && isFinalRefusal(this.#segmentKeys.refusal(segment));
  }

  /** A subscriber asks for the segment keys its packets have waited for too long (see #wantKey). */
  #subscriberFallback(): void {
    const now = this.#now();
    for (const [segment, since] of this.#waitingSince) {
      if (this.#segmentKeys.peek(segment) !== undefined) this.#waitingSince.delete(segment);
      else if (now - since >= SUBSCRIBER_FALLBACK_MS) this.#segmentKeys.want(segment);
    }
  }

  /** Packets are arriving under `keyId`, which is not installed: ask for its segment key; maybe roll over. */
  #wantKey(keyId: KeyId | undefined): void {
    if (keyId === undefined) return;
    this.#needed.add(keyId);
    if (this.#needed.size > MAX_NEEDED_KEYS) this.#needed.delete(this.#needed.values().next().value!);
    const ck = this.#gate.announced(keyId);
    if (ck === undefined) return; // its key message has not arrived yet; it will trigger the install
    const segment = segmentOf(ck);
    if (segment === undefined) return;
    const now = this.#now();
    if (this.subscriber) {
      // The segment key comes by multicast. If its packets have waited SUBSCRIBER_FALLBACK_MS without it (a
      // programme sold per segment only multicasts none), ask the key server after all.
      const since = this.#waitingSince.get(segment) ?? now;
      this.#waitingSince.set(segment, since);
      if (this.#waitingSince.size > 8) this.#waitingSince.delete(this.#waitingSince.keys().next().value!);
      if (now - since >= SUBSCRIBER_FALLBACK_MS) this.#segmentKeys.want(segment);
    } else {
      this.#segmentKeys.want(segment);
    }
    if (!this.#gate.isPending(keyId)) return;
    const key = this.#rolloverKey(ck);
    if (key !== undefined) this.#install(ck, key);
  }

  #deliver(r: Delivered): void {
    this.#started.add(r.ssrc);
    this.stats.packetsDecrypted++;
    this.stats.firstDecryptedIndex ??= r.index;
    if (this.session !== undefined) this.session.countDecrypted(r.keyId, this.#issuedAtMs.get(r.keyId) ?? 0);
    const payload = r.packet.subarray(r.payloadStart, r.payloadEnd);
    for (const sink of this.#opts.sinks) sink.write(r.packet, payload);
  }

  #reject(reason: RejectReason): void {
    this.stats.packetsRejected++;
    const by = this.stats.rejectedByReason;
    by[reason] = (by[reason] ?? 0) + 1;
  }
}
