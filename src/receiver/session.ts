// The member side of a programme's session (claims 13-24; issue 4): join with its member key (claim 15), keep a
// GroupKeyRing fed from the join answer and from group_rekey messages on the key port (claims 14, 19, 23), confirm
// each group epoch reached (claim 20), keep-alives at the announced interval (claim 22), the unicast fallback when a
// keep-alive answer shows the member behind, leave (claim 16), and a `revoked` answer (removal) ends all asking.
//
// Group keys stay usable after a rekey while content keys issued under them may still be on the air: a content key
// names the group epoch it was wrapped under, and remaining members must not lose the stream at a rekey.
import { randomRequestId, zeroize } from '../crypto/random.js';
import { applyGroupRekeyDatagram, GroupKeyRing, type GroupKey } from '../keys/group/index.js';
import type { SignedGroupRekeyMessage } from '../packet/group-rekey.js';
import type { Logger } from 'pino';

export type RemovedBy = 'leave' | 'keepalive' | 'ack';
const REMOVED_BY: readonly string[] = ['leave', 'keepalive', 'ack'];

export interface SessionRefusal {
  readonly ok: false;
  readonly code: string;
  readonly retryable: boolean;
  readonly message?: string;
  /** For `revoked`: why the key server removed this member. */
  readonly removedBy?: string;
  /** For `revoked`, when the key server says: when it removed this member (Unix ms). */
  readonly removedAtMs?: number;
}

export interface SessionJoined {
  readonly ok: true;
  readonly memberId: number;
  readonly mode: string;
  /** This member's individual key, unwrapped from under the client key (KeyServerClient.joinSession). Secret. */
  readonly memberKey: Uint8Array;
  readonly keepAliveIntervalMs: number;
  readonly expiryMs: number;
  readonly ackTimeoutMs: number;
  readonly groupEpoch: number;
  /** Signed group_rekey datagrams with what this member needs now (may be empty in batch mode). */
  readonly rekey: readonly Uint8Array[];
}

/** The key server's session API as the member uses it (src/server/client.ts through sessionApi()). */
export interface SessionApi {
  join(requestId: string): Promise<SessionJoined | SessionRefusal>;
  ack(groupEpoch: number): Promise<{ readonly ok: true } | SessionRefusal>;
  keepAlive(): Promise<
    { readonly ok: true; readonly groupEpoch: number; readonly keepAliveIntervalMs: number } | SessionRefusal
  >;
  leave(requestId: string): Promise<{ readonly ok: true; readonly leftAtMs: number } | SessionRefusal>;
  keys(): Promise<
    { readonly ok: true; readonly groupEpoch: number; readonly rekey: readonly Uint8Array[] } | SessionRefusal
  >;
}

export interface SessionStats {
  memberId: number | undefined;
  groupEpoch: number | undefined;
  acks: number;
  keepAlives: number;
  /** sessions/keys requests (the member was behind). */
  keyFallbacks: number;
  groupRekeysApplied: number;
  /** When this member left or was removed (Unix ms; the key server's time when it said). */
  leftAt: number | undefined;
  removedBy: RemovedBy | null;
  /** Left with the leave message when the receiver stopped (stayed to the end): not a removal. */
  leftOnClose: boolean;
  /**
   * Packets decrypted under content keys whose key message was issued after the removal: the key server's time
   * of it (leftAtMs of a leave, removedAtMs of a `revoked` answer; the moment it was told when the answer has
   * none). Must stay 0. A checker holding the key server's log can recount from decryptedByKey.
   */
  packetsDecryptedAfterRemoval: number;
  /**
   * Packets decrypted per content key, with when its key message was issued: lets a checker with the key server's
   * own removal time (its log) count packets under keys issued after the removal, whatever this member believed.
   */
  decryptedByKey: { keyId: number; issuedAtMs: number; packets: number }[];
  /** Session calls refused other than by revocation (codes). */
  sessionRefusals: string[];
  /** Joins after the key server answered not_member (it restarted and forgot its members): a new session each. */
  rejoins: number;
}

export interface SessionMemberOptions {
  readonly programmeId: number;
  readonly serverPublicKey: Uint8Array;
  readonly api: SessionApi;
  readonly log: Logger;
  /** After removal, keep the group keys and keep applying rekeys (an attacker's view; for the checks). */
  readonly keepListeningAfterRemoval?: boolean;
  /** Called whenever the ring learns a new group key (the receiver installs waiting content keys). */
  readonly onGroupKey?: () => void;
  readonly now?: () => number;
}

/** Group keys kept (current and previous) for content keys still on the air. */
const MAX_GROUP_KEYS = 8;

export class SessionMember {
  readonly stats: SessionStats = {
    memberId: undefined,
    groupEpoch: undefined,
    acks: 0,
    keepAlives: 0,
    keyFallbacks: 0,
    groupRekeysApplied: 0,
    leftAt: undefined,
    removedBy: null,
    leftOnClose: false,
    packetsDecryptedAfterRemoval: 0,
    decryptedByKey: [],
    sessionRefusals: [],
    rejoins: 0,
  };
  readonly #opts: SessionMemberOptions;
  readonly #now: () => number;
  #ring: GroupKeyRing | undefined;
  /** Group keys by full epoch, oldest first. */
  readonly #keys = new Map<number, Uint8Array>();
  #acked = -1;
  #ackInFlight = false;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #keepAliveIntervalMs = 2000;
  #keepAliveInFlight = false;
  #removed = false;
  #closed = false;
  #fallbackInFlight = false;
  #rejoining = false;
  /** Multicast rekeys that arrived before the join answer. */
  #early: SignedGroupRekeyMessage[] = [];

  constructor(opts: SessionMemberOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get removed(): boolean {
    return this.#removed;
  }

  /** Removal time (Unix ms), once removed. */
  get removedAtMs(): number | undefined {
    return this.#removed ? this.stats.leftAt : undefined;
  }

  get epoch(): number | undefined {
    return this.#ring?.epoch;
  }

  /** Joins the session; throws on a refusal (not entitled, not a session programme, ...). */
  async join(): Promise<void> {
    const requestId = randomRequestId();
    const r = await this.#opts.api.join(requestId);
    if (!r.ok) {
      this.stats.sessionRefusals.push(r.code);
      throw new Error(`session join refused: ${r.code}${r.message === undefined ? '' : ` (${r.message})`}`);
    }
    this.#ring = new GroupKeyRing(this.#opts.programmeId, r.memberId, r.memberKey);
    zeroize(r.memberKey);
    this.stats.memberId = r.memberId;
    this.#keepAliveIntervalMs = r.keepAliveIntervalMs;
    this.#opts.log.info(
      {
        memberId: r.memberId,
        mode: r.mode,
        groupEpoch: r.groupEpoch,
        keepAliveIntervalMs: r.keepAliveIntervalMs,
      },
      'joined the session',
    );
    this.#applyDatagrams(r.rekey);
    const early = this.#early;
    this.#early = [];
    for (const m of early) this.onGroupRekey(m);
    this.#learned();
    this.#startKeepAlives();
  }

  /** A verified group_rekey message from the key port (the key-message gate has checked programme and replay). */
  onGroupRekey(msg: SignedGroupRekeyMessage): void {
    if (this.#closed) return;
    if (this.#removed && this.#opts.keepListeningAfterRemoval !== true) return;
    if (this.#ring === undefined) {
      if (this.#early.length < 64) this.#early.push(msg);
      return;
    }
    if (msg.programmeId !== this.#opts.programmeId) return;
    if (this.#ring.apply(msg.entries) > 0) this.stats.groupRekeysApplied++;
    this.#learned();
  }

  /** The group key whose epoch's low 16 bits are `epoch16` (newest first), for a content key's group entry. */
  groupKeysFor(epoch16: number): GroupKey[] {
    const out: GroupKey[] = [];
    for (const [epoch, key] of [...this.#keys].reverse())
      if ((epoch & 0xffff) === epoch16) out.push({ epoch, key });
    return out;
  }

  /** The receiver decrypted a packet under content key `keyId`, whose key message was issued at `issuedAtMs`. */
  countDecrypted(keyId: number, issuedAtMs: number): void {
    const byKey = this.stats.decryptedByKey;
    const last = byKey.at(-1);
    const entry = last?.keyId === keyId ? last : byKey.find((k) => k.keyId === keyId);
    if (entry === undefined) byKey.push({ keyId, issuedAtMs, packets: 1 });
    else entry.packets++;
    if (byKey.length > 4096) byKey.shift();
    const at = this.removedAtMs;
    if (at !== undefined && issuedAtMs > at) this.stats.packetsDecryptedAfterRemoval++;
  }

  /** Test hook and demo fault: stop sending keep-alives (the member goes silent; the key server should evict it). */
  stopKeepAlives(): void {
    clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
  }

  /** Test hook: keep-alives again after stopKeepAlives (as a suspended process that is resumed), one at once. */
  resumeKeepAlives(): void {
    if (this.#removed || this.#closed || this.#ring === undefined) return;
    this.#startKeepAlives();
    void this.#keepAlive();
  }

  /** Sends the leave message (claim 16). With keepListeningAfterRemoval the keys stay for the attacker's view. */
  async leave(): Promise<void> {
    await this.#leave(false);
  }

  /**
   * `atClose`: the receiver is stopping at the end (a member that stayed to the end): the leave message goes out
   * all the same (claim 16, the billing stop), but it was not removed (removedBy stays null; leftOnClose).
   */
  async #leave(atClose: boolean): Promise<void> {
    if (this.#removed || this.#ring === undefined) return;
    this.stopKeepAlives();
    const r = await this.#opts.api.leave(randomRequestId());
    if (!r.ok && r.code === 'revoked') {
      this.#revoked(r);
      return;
    }
    if (!r.ok) {
      this.stats.sessionRefusals.push(r.code);
      this.#opts.log.warn({ code: r.code }, 'leave refused');
    }
    const at = r.ok ? r.leftAtMs : this.#now();
    if (!atClose) this.#remove('leave', at);
    else {
      this.stats.leftAt = at;
      this.stats.leftOnClose = true;
      this.#removed = true;
    }
  }

  /** Leaves (unless already removed) and forgets the keys. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#leave(true);
    } finally {
      this.#closed = true;
      this.stopKeepAlives();
      this.#forget();
    }
  }

  #applyDatagrams(datagrams: readonly Uint8Array[]): void {
    const ring = this.#ring;
    if (ring === undefined) return;
    for (const d of datagrams) {
      const a = applyGroupRekeyDatagram(ring, d, this.#opts.serverPublicKey);
      if (!a.ok) this.#opts.log.warn({ reason: a.reason }, 'group rekey from the key server rejected');
      else if (a.learned > 0) this.stats.groupRekeysApplied++;
    }
  }

  /** After the ring may have learned keys: keep the new group key, ack its epoch (claim 20), tell the receiver. */
  #learned(): void {
    const g = this.#ring?.groupKey();
    if (g === undefined) return;
    this.stats.groupEpoch = g.epoch;
    if (this.#keys.has(g.epoch)) {
      zeroize(g.key);
      return;
    }
    this.#keys.set(g.epoch, g.key);
    while (this.#keys.size > MAX_GROUP_KEYS) {
      const [oldest, key] = this.#keys.entries().next().value!;
      zeroize(key);
      this.#keys.delete(oldest);
    }
    this.#opts.log.info({ groupEpoch: g.epoch }, 'group key learned');
    this.#opts.onGroupKey?.();
    void this.#ack();
  }

  async #ack(): Promise<void> {
    if (this.#removed || this.#ackInFlight) return;
    const epoch = this.#ring?.epoch;
    if (epoch === undefined || epoch <= this.#acked) return;
    this.#ackInFlight = true;
    try {
      const r = await this.#opts.api.ack(epoch);
      if (r.ok) {
        this.#acked = Math.max(this.#acked, epoch);
        this.stats.acks++;
      } else this.#refused(r, 'ack');
    } finally {
      this.#ackInFlight = false;
    }
    // A newer epoch may have arrived meanwhile.
    if ((this.#ring?.epoch ?? -1) > this.#acked) void this.#ack();
  }

  #startKeepAlives(): void {
    this.stopKeepAlives();
    if (this.#removed) return;
    this.#keepAliveTimer = setInterval(() => void this.#keepAlive(), this.#keepAliveIntervalMs);
  }

  async #keepAlive(): Promise<void> {
    // One at a time: a key server slower than the interval gets no pile of keep-alives.
    if (this.#removed || this.#keepAliveTimer === undefined || this.#keepAliveInFlight) return;
    this.#keepAliveInFlight = true;
    let r: Awaited<ReturnType<SessionApi['keepAlive']>>;
    try {
      r = await this.#opts.api.keepAlive();
    } finally {
      this.#keepAliveInFlight = false;
    }
    if (!r.ok) {
      this.#refused(r, 'keep-alive');
      return;
    }
    this.stats.keepAlives++;
    if (r.keepAliveIntervalMs !== this.#keepAliveIntervalMs && r.keepAliveIntervalMs > 0) {
      this.#keepAliveIntervalMs = r.keepAliveIntervalMs;
      this.#startKeepAlives();
    }
    if (r.groupEpoch > (this.#ring?.epoch ?? -1)) void this.#fallback();
    else if (r.groupEpoch > this.#acked) void this.#ack();
  }

  /** Behind the key server's epoch: ask for what this member needs by unicast (sessions/keys). */
  async #fallback(): Promise<void> {
    if (this.#fallbackInFlight || this.#removed) return;
    this.#fallbackInFlight = true;
    try {
      this.stats.keyFallbacks++;
      const r = await this.#opts.api.keys();
      if (!r.ok) {
        this.#refused(r, 'session keys');
        return;
      }
      this.#applyDatagrams(r.rekey);
      this.#learned();
    } finally {
      this.#fallbackInFlight = false;
    }
  }

  #refused(r: SessionRefusal, what: string): void {
    if (r.code === 'revoked') {
      this.#revoked(r);
      return;
    }
    if (r.code === 'not_member') {
      // Not removed: the key server does not know this member (it restarted; membership lives in its memory).
      void this.#rejoin();
      return;
    }
    this.stats.sessionRefusals.push(r.code);
    this.#opts.log.warn({ code: r.code }, `${what} refused`);
  }

  /**
   * Joins again after a not_member answer: a new member key, a new ring, and group keys from the new join (the old
   * ones belong to the key server's previous run). A failed try (the key server still down) is repeated after a
   * keep-alive interval; a refusal of the join itself is final.
   */
  async #rejoin(): Promise<void> {
    if (this.#rejoining || this.#removed || this.#closed) return;
    this.#rejoining = true;
    this.stopKeepAlives();
    this.stats.rejoins++;
    this.#opts.log.warn('the key server does not know this member (it restarted?): joining again');
    this.#forget();
    this.#acked = -1;
    this.#ring = undefined;
    try {
      await this.join();
    } catch (err) {
      const code = this.stats.sessionRefusals.at(-1);
      const retry = code === 'network_error' || code === 'timeout' || code === 'log_unavailable';
      this.#opts.log.warn({ err: String(err) }, retry ? 'join failed; trying again' : 'join refused');
      if (retry && !this.#closed) setTimeout(() => void this.#rejoin(), this.#keepAliveIntervalMs).unref();
    } finally {
      this.#rejoining = false;
    }
  }

  #revoked(r: SessionRefusal): void {
    const by = REMOVED_BY.includes(r.removedBy ?? '') ? (r.removedBy as RemovedBy) : 'keepalive';
    this.#remove(by, r.removedAtMs ?? this.#now());
  }

  #remove(by: RemovedBy, atMs: number): void {
    if (this.#removed) return;
    this.#removed = true;
    this.stats.removedBy = by;
    this.stats.leftAt = atMs;
    this.stopKeepAlives();
    this.#opts.log.info({ removedBy: by, leftAt: atMs }, 'no longer a session member');
    if (this.#opts.keepListeningAfterRemoval !== true) this.#forget();
  }

  #forget(): void {
    for (const k of this.#keys.values()) zeroize(k);
    this.#keys.clear();
  }
}
