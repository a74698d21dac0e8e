// Sessions: per-programme member lists, group keys and rekeying (claims 13-24; docs/membership.md).
//
// A programme priced `session` is sold per minute of membership. The key server keeps, per programme, the list of
// members (in memory; the log is the durable record) and a group key managed by src/keys/group/ in one of three
// modes (flat, lkh, batch). Content keys of the programme are wrapped under the group key current when they are
// issued (src/server/content-keys.ts), so only members can open them.
//
// Every change of membership goes through #rekeyIn, which runs inside a store transaction: it applies the waiting
// removals (and a join), logs one `group_rekey` record, signs the wraps as group_rekey messages (each < 1200 bytes,
// signed once) and multicasts them on the programme's key port after the commit (three times). Store transactions
// are serialised, and the group's state changes only inside them, so rekeys of one programme are serialised, their
// epochs only increase, and they are logged and sent in epoch order.
//
// Removals (a leave, keep-alive expiry, a missing ack) are logged at once (`leave` or `evict`, and `billing_stop`
// at the same instant) and the member stops being one; the rekey that excludes it follows, folded with every other
// removal waiting: after `removalCoalesceMs` (flat, lkh), at the next batch flush (batch), or at the latest before
// the next content key is issued (so no content key issued after a removal is under a group key it can reach).
//
// Elapsed time (expiry, ack timeout, batch interval) is measured on a monotonic clock (`monoNow`, performance.now by
// default); the wall clock (`now`) only stamps log records. Billing durations are monotonic too (`billedMs`).
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { asClientId, type ClientId, type ProgrammeId } from '../ids.js';
import { deriveClientWrapKey } from '../keys/client-key.js';
import { wrapsForMember } from '../keys/group/catch-up.js';
import { chunkGroupRekeyEntries } from '../packet/group-rekey.js';
import {
  GROUP_REKEY_MAX_DATAGRAM_BYTES,
  createGroupKeys,
  generateMemberKey,
  signGroupRekey,
  wrapMemberKeyForClient,
  type GroupKey,
  type GroupKeys,
  type GroupMode,
  type Rekey,
} from '../keys/group/index.js';
import type { ProgrammeRow, Store, StoreTx } from '../store/types.js';
import type { ServerSecrets } from '../store/data-dir.js';
import type { Authenticated, Deny, Outcome } from './authenticate.js';
import { KeyServerError, type RemovedBy } from './errors.js';
import type { MulticastSockets } from './multicast-sockets.js';
import { validProgrammeId } from './segment-keys.js';
import {
  REQUEST_ID_PATTERN,
  type SessionAckResponseBody,
  type SessionJoinResponseBody,
  type SessionKeepAliveResponseBody,
  type SessionKeysResponseBody,
  type SessionLeaveResponseBody,
} from './wire.js';

export interface SessionOptions {
  /** Rekey mode of every session group. Default lkh. */
  readonly rekey: GroupMode;
  /** batch: how often waiting joins and removals are folded into one rekey. Default 1000. */
  readonly batchIntervalMs: number;
  /** Announced to members: how often to send a keep-alive. Default 2000. */
  readonly keepAliveIntervalMs: number;
  /** A member silent for longer than this (monotonic) is removed (claim 24). Default 3 × keepAliveIntervalMs. */
  readonly memberExpiryMs: number;
  /** A member that has not acked a delivered group epoch within this is removed (claim 21). Default 5000. */
  readonly ackTimeoutMs: number;
  /** flat, lkh: removals within this many ms of the first fold into one rekey. Default 20. */
  readonly removalCoalesceMs: number;
  /** How often expiry and ack timeouts are checked. Default min(250, keepAliveIntervalMs / 4). */
  readonly tickMs: number;
  /** Monotonic ms clock for elapsed time; injectable for tests. Default performance.now. */
  readonly monoNow: () => number;
}

export const DEFAULT_KEEPALIVE_INTERVAL_MS = 2000;

export function sessionOptions(o: Partial<SessionOptions> = {}): SessionOptions {
  const keepAliveIntervalMs = o.keepAliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  return {
    rekey: o.rekey ?? 'lkh',
    batchIntervalMs: o.batchIntervalMs ?? 1000,
    keepAliveIntervalMs,
    memberExpiryMs: o.memberExpiryMs ?? 3 * keepAliveIntervalMs,
    ackTimeoutMs: o.ackTimeoutMs ?? 5000,
    removalCoalesceMs: o.removalCoalesceMs ?? 20,
    tickMs: o.tickMs ?? Math.max(10, Math.min(250, Math.floor(keepAliveIntervalMs / 4))),
    monoNow: o.monoNow ?? (() => performance.now()),
  };
}

interface Member {
  readonly clientId: ClientId;
  readonly memberKey: Uint8Array;
  readonly joinRequestId: string;
  readonly joinedMono: number;
  lastKeepAliveMono: number;
  lastKeepAliveWallMs: number;
  /** Group epochs delivered to this member and not yet acked, oldest first (an ack of E confirms every E' <= E). */
  readonly unacked: { epoch: number; atMono: number }[];
}

interface Group {
  readonly programme: ProgrammeRow;
  readonly keys: GroupKeys;
  readonly members: Map<number, Member>;
  /** Removed and logged; the rekey that excludes them is still to come. */
  readonly waitingRemoval: Set<number>;
  /** batch: removals handed to the group keys but not flushed yet (the current group key still reaches them). */
  readonly removedUnflushed: number[];
  /** Why a former member was removed (for `revoked`); forgotten when it joins again. */
  readonly removed: Map<number, { by: RemovedBy; atMs: number }>;
  coalesceTimer: NodeJS.Timeout | undefined;
}

/** One rekey as logged and sent. */
export interface RekeySent {
  readonly programmeId: number;
  readonly epoch: number;
  readonly wraps: number;
  readonly datagrams: readonly Uint8Array[];
}

interface RekeyOut {
  readonly rekey: Rekey;
  readonly datagrams: Uint8Array[];
}

interface Core {
  readonly store: Store;
  readonly secrets: ServerSecrets;
  readonly now: () => number;
}

type Body = Record<string, unknown>;
const asBody = (body: unknown): Body => (typeof body === 'object' && body !== null ? (body as Body) : {});
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export class SessionManager {
  readonly opts: SessionOptions;
  readonly #groups = new Map<number, Group>();
  /** Per programme, the last group epoch the log records (previous runs), read at start-up. */
  readonly #lastEpochs = new Map<number, number>();
  /**
   * After a restart: per session programme, the members of the previous run not back yet, and until when (monotonic
   * ms) to wait for them. A content key issued before they rejoin would be wrapped under a group they are not in yet
   * and lost to them (contentKeyWaitMs).
   */
  readonly #rejoining = new Map<number, { clients: Set<number>; untilMono: number }>();
  readonly #listeners = new Set<(r: RekeySent) => void>();
  #tick: NodeJS.Timeout | undefined;
  #batch: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly core: Core,
    readonly sockets: MulticastSockets,
    opts: Partial<SessionOptions>,
    readonly log: Logger | undefined,
  ) {
    this.opts = sessionOptions(opts);
  }

  /** Starts the expiry/ack tick and (batch) the flush timer. */
  start(): void {
    if (this.#tick !== undefined || this.#closed) return;
    this.#tick = setInterval(
      () => void this.tick().catch((e: unknown) => this.#warn('tick', e)),
      this.opts.tickMs,
    );
    this.#tick.unref();
    if (this.opts.rekey === 'batch') {
      this.#batch = setInterval(
        () => void this.flushAll().catch((e: unknown) => this.#warn('batch flush', e)),
        this.opts.batchIntervalMs,
      );
      this.#batch.unref();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#tick !== undefined) clearInterval(this.#tick);
    if (this.#batch !== undefined) clearInterval(this.#batch);
    for (const g of this.#groups.values()) if (g.coalesceTimer !== undefined) clearTimeout(g.coalesceTimer);
    return Promise.resolve();
  }

  /** Called for every rekey after it is logged (tests, metrics). */
  onRekey(fn: (r: RekeySent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Current members of a programme's session (client ids, ascending). */
  members(programmeId: number): number[] {
    const g = this.#groups.get(programmeId);
    return g === undefined ? [] : [...g.members.keys()].sort((a, b) => a - b);
  }

  /** Current group epoch of a programme (undefined before its group exists). */
  epoch(programmeId: number): number | undefined {
    return this.#groups.get(programmeId)?.keys.epoch;
  }

  #warn(what: string, err: unknown): void {
    this.log?.warn({ err: String(err) }, `sessions: ${what} failed`);
  }

  #group(p: ProgrammeRow): Group {
    let g = this.#groups.get(p.id);
    if (g === undefined) {
      g = {
        programme: p,
        // After a restart, epochs go on from the previous run's last (closeSessionsOfPreviousRun reads it).
        keys: createGroupKeys(this.opts.rekey, p.id, [], (this.#lastEpochs.get(p.id) ?? -1) + 1),
        members: new Map(),
        waitingRemoval: new Set(),
        removedUnflushed: [],
        removed: new Map(),
        coalesceTimer: undefined,
      };
      this.#groups.set(p.id, g);
    }
    return g;
  }

  // ---- rekeying ----

  /**
   * Inside a store transaction: apply the waiting removals (and `join`), flush, log each rekey, sign it, and
   * multicast it after the commit. Returns what was sent.
   */
  async #rekeyIn(
    g: Group,
    tx: StoreTx,
    join?: { clientId: number; memberKey: Uint8Array },
  ): Promise<RekeyOut[]> {
    if (g.coalesceTimer !== undefined) {
      clearTimeout(g.coalesceTimer);
      g.coalesceTimer = undefined;
    }
    const rekeys: { rekey: Rekey; removed: number[]; joined?: number }[] = [];
    const removing = [...g.waitingRemoval].filter((id) => g.keys.has(id));
    g.waitingRemoval.clear();
    if (removing.length > 0) {
      const r = g.keys.remove(removing);
      if (r !== undefined) rekeys.push({ rekey: r, removed: removing });
      else g.removedUnflushed.push(...removing); // batch: queued in the group keys
    }
    if (join !== undefined) {
      const r = g.keys.join(join.clientId, join.memberKey);
      if (r !== undefined) rekeys.push({ rekey: r, removed: [], joined: join.clientId });
    }
    // batch folds everything at its interval; a join alone waits for it (waiting removals are flushed before the
    // next content key is issued, see groupKeyForContentKey).
    if (g.keys.pending && (this.opts.rekey !== 'batch' || join === undefined)) {
      const r = g.keys.flush();
      if (r !== undefined) rekeys.push({ rekey: r, removed: g.removedUnflushed.splice(0) });
    }
    const out: RekeyOut[] = [];
    const nowMs = this.core.now();
    const atMono = this.opts.monoNow();
    for (const { rekey, removed, joined } of rekeys) {
      const wrapsCount = rekey.wraps.length;
      const datagrams = await this.#sign(rekey, tx, nowMs);
      await tx.log.append({
        timeMs: nowMs,
        requestId: null,
        clientId: null,
        authenticated: false,
        serviceId: g.programme.serviceId,
        programmeId: g.programme.id,
        segment: null,
        keyId: null,
        event: 'group_rekey',
        outcome: 'delivered',
        code: null,
        basis: null,
        period: null,
        detail: JSON.stringify({
          mode: rekey.mode,
          epoch: rekey.epoch,
          wraps: wrapsCount,
          datagrams: datagrams.length,
          bytes: datagrams.reduce((n, d) => n + d.length, 0),
          members: g.keys.size,
          ...(removed.length > 0 && { removed }),
          ...(joined !== undefined && { joined }),
        }),
        response: null,
      });
      // Every member now holding a delivery of this epoch must ack it (claim 20).
      for (const m of g.members.values())
        if (g.keys.has(m.clientId)) m.unacked.push({ epoch: rekey.epoch, atMono });
      out.push({ rekey, datagrams });
    }
    const programme = g.programme;
    tx.afterCommit(() => {
      for (const { rekey, datagrams } of out) {
        void this.sockets
          .sendRepeated(programme.group, programme.keyPort, datagrams)
          .catch((e: unknown) => this.#warn('rekey multicast', e));
        const sent: RekeySent = {
          programmeId: programme.id,
          epoch: rekey.epoch,
          wraps: rekey.wraps.length,
          datagrams,
        };
        this.log?.info(
          { programmeId: programme.id, epoch: rekey.epoch, mode: rekey.mode, wraps: rekey.wraps.length },
          'group rekey',
        );
        for (const l of this.#listeners) l(sent);
      }
    });
    return out;
  }

  /** Signs a rekey as group_rekey messages, numbered from the programme's key message sequence. */
  async #sign(rekey: Rekey, tx: StoreTx, issuedAtMs: number): Promise<Uint8Array[]> {
    const parts = chunkGroupRekeyEntries(rekey.wraps, GROUP_REKEY_MAX_DATAGRAM_BYTES).length;
    const seqs: number[] = [];
    for (let i = 0; i < parts; i++)
      seqs.push(await tx.programmes.allocateMessageSeq(rekey.programmeId as ProgrammeId));
    let next = 0;
    return signGroupRekey(
      rekey,
      { issuedAtMs, nextMessageSeq: () => seqs[next++]! },
      this.core.secrets.signing.privateKey,
    );
  }

  /** Rekeys a group now (in its own transaction) if anything is waiting. */
  async #rekeyNow(programmeId: number): Promise<void> {
    const g = this.#groups.get(programmeId);
    if (g === undefined || this.#closed) return;
    if (g.waitingRemoval.size === 0 && !g.keys.pending) return;
    await this.core.store.transact((tx) => this.#rekeyIn(g, tx));
  }

  #scheduleRemovalRekey(g: Group): void {
    if (this.opts.rekey === 'batch' || g.coalesceTimer !== undefined || this.#closed) return;
    g.coalesceTimer = setTimeout(() => {
      g.coalesceTimer = undefined;
      void this.#rekeyNow(g.programme.id).catch((e: unknown) => this.#warn('removal rekey', e));
    }, this.opts.removalCoalesceMs);
  }

  /** batch: fold every group's waiting joins and removals into one rekey each. */
  async flushAll(): Promise<void> {
    for (const id of [...this.#groups.keys()]) await this.#rekeyNow(id);
  }

  /**
   * For a content key of a session programme, inside its transaction: first the rekey of any waiting removal (so
   * the removed cannot open the key), then the current group key. Creates the group if needed.
   */
  /**
   * After a restart, while members of the previous run have not joined again (at most the member expiry from the
   * start: a member learns it must join at its next keep-alive), a content key issued now would reach none of them.
   * Returns how long the sender should wait before asking again, or undefined when it may have one now.
   */
  contentKeyWaitMs(p: ProgrammeRow): number | undefined {
    const w = this.#rejoining.get(p.id);
    if (w === undefined) return undefined;
    const left = w.untilMono - this.opts.monoNow();
    if (left <= 0) {
      this.#rejoining.delete(p.id);
      return undefined;
    }
    return Math.max(100, Math.ceil(Math.min(left, this.opts.keepAliveIntervalMs / 2)));
  }

  async groupKeyForContentKey(tx: StoreTx, p: ProgrammeRow): Promise<GroupKey> {
    const g = this.#group(p);
    // batch with only joins waiting: the current key is still right for everyone who holds it.
    if (
      g.waitingRemoval.size > 0 ||
      g.removedUnflushed.length > 0 ||
      (g.keys.pending && this.opts.rekey !== 'batch')
    )
      await this.#rekeyIn(g, tx);
    return g.keys.groupKey();
  }

  // ---- removals ----

  /** Logs the removal of members (`leave` or `evict`, then `billing_stop` at the same instant) and forgets them. */
  async #removeIn(
    g: Group,
    tx: StoreTx,
    removals: readonly { member: Member; by: RemovedBy; requestId: string | null }[],
    nowMs: number,
  ): Promise<void> {
    const mono = this.opts.monoNow();
    for (const { member: m, by, requestId } of removals) {
      const subject = {
        requestId,
        clientId: m.clientId,
        authenticated: requestId !== null,
        serviceId: g.programme.serviceId,
        programmeId: g.programme.id,
        segment: null,
        keyId: null,
        outcome: 'delivered' as const,
        code: null,
        basis: null,
        period: null,
        response: null,
      };
      const billedMs = Math.max(0, Math.round((by === 'leave' ? mono : m.lastKeepAliveMono) - m.joinedMono));
      if (by === 'leave') {
        await tx.log.append({
          ...subject,
          timeMs: nowMs,
          event: 'leave',
          detail: JSON.stringify({ joinRequestId: m.joinRequestId }),
          response: JSON.stringify({ programmeId: g.programme.id, leftAtMs: nowMs }),
        });
      } else {
        await tx.log.append({
          ...subject,
          timeMs: nowMs,
          event: 'evict',
          detail: JSON.stringify({
            by,
            lastKeepAliveMs: m.lastKeepAliveWallMs,
            joinRequestId: m.joinRequestId,
          }),
        });
      }
      await tx.log.append({
        ...subject,
        requestId: null,
        authenticated: false,
        timeMs: nowMs,
        event: 'billing_stop',
        detail: JSON.stringify({ by, billedMs, joinRequestId: m.joinRequestId }),
      });
      g.members.delete(m.clientId);
      g.removed.set(m.clientId, { by, atMs: nowMs });
      g.waitingRemoval.add(m.clientId);
      m.memberKey.fill(0);
    }
  }

  /**
   * Removes every member silent longer than the expiry (claim 24) or late with an ack (claim 21); all removed in
   * one tick share one rekey per programme. Returns the removed (programme, client, by).
   */
  async tick(): Promise<{ programmeId: number; clientId: number; by: RemovedBy }[]> {
    if (this.#closed) return [];
    const mono = this.opts.monoNow();
    const removed: { programmeId: number; clientId: number; by: RemovedBy }[] = [];
    for (const g of this.#groups.values()) {
      const due: { member: Member; by: RemovedBy; requestId: null }[] = [];
      for (const m of g.members.values()) {
        if (mono - m.lastKeepAliveMono > this.opts.memberExpiryMs)
          due.push({ member: m, by: 'keepalive', requestId: null });
        else if (m.unacked.length > 0 && mono - m.unacked[0]!.atMono > this.opts.ackTimeoutMs)
          due.push({ member: m, by: 'ack', requestId: null });
      }
      if (due.length === 0) continue;
      await this.core.store.transact(async (tx) => {
        // Still members? (a leave may have come in meanwhile)
        const still = due.filter((d) => g.members.get(d.member.clientId) === d.member);
        await this.#removeIn(g, tx, still, this.core.now());
        if (this.opts.rekey !== 'batch') await this.#rekeyIn(g, tx);
        for (const d of still)
          removed.push({ programmeId: g.programme.id, clientId: d.member.clientId, by: d.by });
      });
      this.log?.info({ programmeId: g.programme.id, removed: due.length }, 'session members removed');
    }
    return removed;
  }

  // ---- requests (each inside its own authenticated transaction) ----

  /** A join or leave: a valid requestId (they are idempotent by it), then the session programme. */
  async #identifiedRequest(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    b: Body,
  ): Promise<{ ok: true; p: ProgrammeRow; requestId: string } | { ok: false; o: Outcome<never> }> {
    const requestId = b.requestId;
    if (typeof requestId !== 'string' || !REQUEST_ID_PATTERN.test(requestId))
      return {
        ok: false,
        o: await deny('invalid_request', 'requestId must be 1..64 characters of [A-Za-z0-9._:-]'),
      };
    const sp = await this.#sessionProgramme(tx, auth, deny, b);
    return sp.ok ? { ...sp, requestId } : sp;
  }

  async #sessionProgramme(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    b: Body,
  ): Promise<{ ok: true; p: ProgrammeRow } | { ok: false; o: Outcome<never> }> {
    const programmeId = validProgrammeId(b.programmeId);
    if (programmeId === undefined)
      return { ok: false, o: await deny('invalid_request', 'programmeId must be an integer 1..4294967295') };
    const p = await tx.programmes.get(programmeId);
    if (p === undefined)
      return { ok: false, o: await deny('unknown_programme', `no programme ${programmeId}`) };
    if (p.pricing !== 'session')
      return {
        ok: false,
        o: await deny('not_session', `programme ${p.id} is not sold per session (pricing ${p.pricing})`, {
          serviceId: p.serviceId,
        }),
      };
    if (auth.client.role !== 'receiver')
      return { ok: false, o: await deny('forbidden_role', 'only a receiver may be a session member') };
    return { ok: true, p };
  }

  /** The member, or the typed refusal: `revoked` (with removedBy) for a removed client, `not_member` otherwise. */
  async #member(
    g: Group | undefined,
    p: ProgrammeRow,
    auth: Authenticated,
    deny: Deny,
  ): Promise<{ ok: true; m: Member; g: Group } | { ok: false; o: Outcome<never> }> {
    const m = g?.members.get(auth.client.id);
    if (g !== undefined && m !== undefined) return { ok: true, m, g };
    const removal = g?.removed.get(auth.client.id);
    if (removal === undefined) {
      const o = await deny(
        'not_member',
        `client ${auth.client.id} is not a member of programme ${p.id}'s session`,
        {
          serviceId: p.serviceId,
        },
      );
      return { ok: false, o };
    }
    const { by, atMs } = removal;
    const message = `client ${auth.client.id} was removed from programme ${p.id}'s session (${by})`;
    await deny('revoked', message, { serviceId: p.serviceId });
    return {
      ok: false,
      o: { ok: false, error: new KeyServerError('revoked', message, undefined, by, atMs) },
    };
  }

  /** POST /v1/sessions/join (claims 13-15). */
  async join(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    body: unknown,
  ): Promise<Outcome<SessionJoinResponseBody>> {
    const b = asBody(body);
    const sp = await this.#identifiedRequest(tx, auth, deny, b);
    if (!sp.ok) return sp.o;
    const requestId = sp.requestId;
    const p = sp.p;
    const g = this.#group(p);
    const clientId = auth.client.id;

    // An idempotent retry: the stored answer with a fresh catch-up, while the member is still the same one.
    const previous = await tx.log.findDelivered(clientId, requestId);
    if (previous !== undefined) {
      if (previous.event !== 'join' || previous.programmeId !== p.id)
        return deny('request_id_conflict', `requestId ${requestId} was already used for another request`);
      const r = await this.#member(g, p, auth, deny);
      if (!r.ok) return r.o;
      if (r.m.joinRequestId !== requestId)
        return deny('request_id_conflict', `requestId ${requestId} is a join this client has since replaced`);
      const stored = JSON.parse(previous.response!) as SessionJoinResponseBody;
      const catchUp = await this.#catchUp(g, tx, clientId);
      return { ok: true, body: { ...stored, groupEpoch: catchUp.groupEpoch, rekey: catchUp.rekey } };
    }

    const nowMs = auth.nowMs;
    const mono = this.opts.monoNow();
    // A member joining again (e.g. a restarted receiver) ends its old session first.
    const old = g.members.get(clientId);
    if (old !== undefined)
      await this.#removeIn(g, tx, [{ member: old, by: 'leave', requestId: null }], nowMs);
    g.removed.delete(clientId);

    const memberKey = generateMemberKey();
    const wrapKey = deriveClientWrapKey(auth.uk);
    const wrapped = wrapMemberKeyForClient(wrapKey, clientId, p.id, memberKey);
    wrapKey.fill(0);
    const epochBefore = g.keys.epoch;
    const stored: SessionJoinResponseBody = {
      requestId,
      programmeId: p.id,
      memberId: clientId,
      mode: this.opts.rekey,
      memberKey: b64(wrapped),
      keepAliveIntervalMs: this.opts.keepAliveIntervalMs,
      expiryMs: this.opts.memberExpiryMs,
      ackTimeoutMs: this.opts.ackTimeoutMs,
      groupEpoch: epochBefore,
      rekey: [],
    };
    // Log before deliver: the join (billing starts) is written before the member key leaves.
    await tx.log.append({
      timeMs: nowMs,
      ...auth.subject,
      requestId,
      serviceId: p.serviceId,
      programmeId: p.id,
      event: 'join',
      outcome: 'delivered',
      code: null,
      basis: null,
      period: null,
      detail: JSON.stringify({ mode: this.opts.rekey }),
      response: JSON.stringify(stored),
    });
    const waiting = this.#rejoining.get(p.id);
    if (waiting !== undefined && waiting.clients.delete(clientId) && waiting.clients.size === 0)
      this.#rejoining.delete(p.id);
    const member: Member = {
      clientId: asClientId(clientId),
      memberKey: memberKey.slice(),
      joinRequestId: requestId,
      joinedMono: mono,
      lastKeepAliveMono: mono,
      lastKeepAliveWallMs: nowMs,
      unacked: [],
    };
    g.members.set(clientId, member);
    let sent: RekeyOut[];
    try {
      sent = await this.#rekeyIn(g, tx, { clientId, memberKey });
    } catch (err) {
      // The transaction rolls back (the join is not logged): the client is no member; take it out of the group
      // again at the next rekey, without a log record of its own.
      if (g.members.get(clientId) === member) g.members.delete(clientId);
      if (g.keys.has(clientId)) g.waitingRemoval.add(clientId);
      throw err;
    } finally {
      memberKey.fill(0);
    }
    // The newcomer's part of what was just sent: the datagrams that carry a wrap it can open.
    const all = sent.flatMap((s) => s.rekey.wraps);
    const mine = new Set(wrapsForMember(all, clientId));
    const rekey: string[] = [];
    for (const s of sent) {
      if (!s.rekey.wraps.some((w) => mine.has(w))) continue;
      for (const d of s.datagrams) rekey.push(b64(d));
    }
    // A member joining a group nobody else is in yet gets no key from the rekey when the mode wraps nothing for
    // it; the catch-up then brings it to the current epoch.
    const reached = [...mine].some((w) => w.node === 1 && w.version === g.keys.epoch);
    if (!reached && !g.keys.pending) {
      const c = await this.#catchUp(g, tx, clientId);
      rekey.push(...c.rekey);
    }
    return { ok: true, body: { ...stored, groupEpoch: g.keys.epoch, rekey } };
  }

  /** The wraps that bring `clientId` to the current group key, signed (not multicast); none while a batch waits. */
  async #catchUp(g: Group, tx: StoreTx, clientId: number): Promise<{ groupEpoch: number; rekey: string[] }> {
    if (g.keys.pending || !g.keys.has(clientId)) return { groupEpoch: g.keys.epoch, rekey: [] };
    const welcome = g.keys.welcome();
    const wraps = wrapsForMember(welcome.wraps, clientId);
    if (wraps.length === 0) return { groupEpoch: welcome.epoch, rekey: [] };
    const datagrams = await this.#sign({ ...welcome, wraps }, tx, this.core.now());
    return { groupEpoch: welcome.epoch, rekey: datagrams.map(b64) };
  }

  /** POST /v1/sessions/ack (claim 20). */
  async ack(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    body: unknown,
  ): Promise<Outcome<SessionAckResponseBody>> {
    const b = asBody(body);
    const sp = await this.#sessionProgramme(tx, auth, deny, b);
    if (!sp.ok) return sp.o;
    const epoch = b.groupEpoch;
    if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff)
      return deny('invalid_request', 'groupEpoch must be an integer 0..4294967295');
    const r = await this.#member(this.#groups.get(sp.p.id), sp.p, auth, deny);
    if (!r.ok) return r.o;
    if (epoch > r.g.keys.epoch)
      return deny('invalid_request', `groupEpoch ${epoch} is ahead of the group's epoch ${r.g.keys.epoch}`);
    const u = r.m.unacked;
    while (u.length > 0 && u[0]!.epoch <= epoch) u.shift();
    return { ok: true, body: { programmeId: sp.p.id, groupEpoch: epoch } };
  }

  /** POST /v1/sessions/keepalive (claim 22). */
  async keepAlive(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    body: unknown,
  ): Promise<Outcome<SessionKeepAliveResponseBody>> {
    const sp = await this.#sessionProgramme(tx, auth, deny, asBody(body));
    if (!sp.ok) return sp.o;
    const r = await this.#member(this.#groups.get(sp.p.id), sp.p, auth, deny);
    if (!r.ok) return r.o;
    r.m.lastKeepAliveMono = this.opts.monoNow();
    r.m.lastKeepAliveWallMs = auth.nowMs;
    return {
      ok: true,
      body: {
        programmeId: sp.p.id,
        groupEpoch: r.g.keys.epoch,
        keepAliveIntervalMs: this.opts.keepAliveIntervalMs,
      },
    };
  }

  /** POST /v1/sessions/leave (claims 16-18): removed, logged with a billing stop at the same instant; rekey follows. */
  async leave(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    body: unknown,
  ): Promise<Outcome<SessionLeaveResponseBody>> {
    const b = asBody(body);
    const sp = await this.#identifiedRequest(tx, auth, deny, b);
    if (!sp.ok) return sp.o;
    const requestId = sp.requestId;
    const previous = await tx.log.findDelivered(auth.client.id, requestId);
    if (previous !== undefined) {
      if (previous.event !== 'leave' || previous.programmeId !== sp.p.id)
        return deny('request_id_conflict', `requestId ${requestId} was already used for another request`);
      return { ok: true, body: JSON.parse(previous.response!) as SessionLeaveResponseBody };
    }
    const r = await this.#member(this.#groups.get(sp.p.id), sp.p, auth, deny);
    if (!r.ok) return r.o;
    await this.#removeIn(r.g, tx, [{ member: r.m, by: 'leave', requestId }], auth.nowMs);
    const g = r.g;
    tx.afterCommit(() => this.#scheduleRemovalRekey(g));
    return { ok: true, body: { programmeId: sp.p.id, leftAtMs: auth.nowMs } };
  }

  /** POST /v1/sessions/keys: the wraps that bring a member to the current group key (unicast fallback). */
  async keys(
    tx: StoreTx,
    auth: Authenticated,
    deny: Deny,
    body: unknown,
  ): Promise<Outcome<SessionKeysResponseBody>> {
    const sp = await this.#sessionProgramme(tx, auth, deny, asBody(body));
    if (!sp.ok) return sp.o;
    const r = await this.#member(this.#groups.get(sp.p.id), sp.p, auth, deny);
    if (!r.ok) return r.o;
    const c = await this.#catchUp(r.g, tx, auth.client.id);
    await tx.log.append({
      timeMs: auth.nowMs,
      ...auth.subject,
      serviceId: sp.p.serviceId,
      programmeId: sp.p.id,
      event: 'session_keys',
      outcome: 'delivered',
      code: null,
      basis: null,
      period: null,
      detail: JSON.stringify({ epoch: c.groupEpoch, datagrams: c.rekey.length }),
      response: null,
    });
    return { ok: true, body: { programmeId: sp.p.id, groupEpoch: c.groupEpoch, rekey: c.rekey } };
  }

  // ---- restart ----

  /**
   * At start-up: every session the log still holds open (a join with no billing_stop after it) belonged to the
   * previous run of the key server, whose member lists are gone. Each is closed with a `billing_stop` record
   * {by: "restart", billedMs} billed up to the last record the previous run wrote (see docs/membership.md).
   */
  async closeSessionsOfPreviousRun(): Promise<number> {
    return this.core.store.transact(async (tx) => {
      const head = await tx.log.head();
      if (head === undefined) return 0;
      const last = (await tx.log.range(head.seq, 1))[0]!;
      const open = new Map<
        string,
        {
          clientId: number;
          programmeId: number;
          serviceId: number | null;
          timeMs: number;
          requestId: string | null;
        }
      >();
      for (const r of await tx.log.byEvents(['join', 'billing_stop', 'group_rekey'])) {
        if (r.event === 'group_rekey') {
          const epoch = r.programmeId === null ? undefined : groupEpochOf(r.detail);
          if (epoch !== undefined)
            this.#lastEpochs.set(r.programmeId!, Math.max(epoch, this.#lastEpochs.get(r.programmeId!) ?? -1));
          continue;
        }
        if (r.outcome !== 'delivered' || r.clientId === null || r.programmeId === null) continue;
        const k = `${r.clientId}/${r.programmeId}`;
        if (r.event === 'join')
          open.set(k, {
            clientId: r.clientId,
            programmeId: r.programmeId,
            serviceId: r.serviceId,
            timeMs: r.timeMs,
            requestId: r.requestId,
          });
        else open.delete(k);
      }
      const nowMs = this.core.now();
      const untilMono = this.opts.monoNow() + this.opts.memberExpiryMs;
      for (const s of open.values()) {
        const w = this.#rejoining.get(s.programmeId) ?? { clients: new Set<number>(), untilMono };
        w.clients.add(s.clientId);
        this.#rejoining.set(s.programmeId, w);
        await tx.log.append({
          timeMs: nowMs,
          requestId: null,
          clientId: asClientId(s.clientId),
          authenticated: false,
          serviceId: s.serviceId === null ? null : (s.serviceId as ProgrammeRow['serviceId']),
          programmeId: s.programmeId as ProgrammeId,
          segment: null,
          keyId: null,
          event: 'billing_stop',
          outcome: 'delivered',
          code: null,
          basis: null,
          period: null,
          detail: JSON.stringify({
            by: 'restart',
            billedMs: Math.max(0, last.timeMs - s.timeMs),
            joinRequestId: s.requestId,
          }),
          response: null,
        });
      }
      return open.size;
    });
  }
}

/** The group epoch a `group_rekey` record names in its detail, if it is a sane u32 below 2^32-1. */
function groupEpochOf(detail: string | null): number | undefined {
  try {
    const epoch = (JSON.parse(detail ?? 'null') as { epoch?: unknown } | null)?.epoch;
    return typeof epoch === 'number' && Number.isInteger(epoch) && epoch >= 0 && epoch < 0xfffffffe
      ? epoch
      : undefined;
  } catch {
    return undefined;
  }
}
