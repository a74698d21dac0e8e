// The store's one interface. Every operation is async so that a PostgreSQL implementation can sit behind the same
// interface; the SQLite implementation (src/store/sqlite/) runs each transaction on one connection, serialised.
//
// All work happens inside `store.transact(async (tx) => ...)`: it commits (durably: WAL, synchronous=FULL) when the
// callback resolves and rolls back when it throws. Do not await network or timers inside a transaction. Side
// effects that must follow a commit (multicast, metrics) go in `tx.afterCommit`.
import type { ClientId, KeyId, ProgrammeId, SegmentIndex, ServiceId, Ssrc } from '../ids.js';
import type { ClientRole } from '../keys/client-key.js';
import type { KeyChangeMode } from '../packet/key-phase.js';
import type { KeyMessageProfile } from '../packet/profile-code.js';

export interface Store {
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreTx {
  readonly clients: ClientTable;
  readonly services: ServiceTable;
  readonly programmes: ProgrammeTable;
  readonly entitlements: EntitlementTable;
  readonly serviceKeys: ServiceKeyTable;
  readonly segmentKeys: SegmentKeyTable;
  readonly contentKeys: ContentKeyTable;
  readonly nonces: NonceTable;
  readonly log: LogTable;
  /** Run `fn` after this transaction has committed (never if it rolls back). */
  afterCommit(fn: () => void): void;
}

// ---- clients ----

export interface ClientRow {
  readonly id: ClientId;
  readonly name: string;
  readonly role: ClientRole;
  /** UK wrapped under the server master key (AAD "keycast/v1 uk>master client=<id>"). */
  readonly wrappedKey: Uint8Array;
  readonly createdAtMs: number;
}

export interface ClientTable {
  /** Allocates the next id (1, 2, ...) when `id` is absent. */
  insert(row: Omit<ClientRow, 'id'> & { id?: ClientId }): Promise<ClientRow>;
  nextId(): Promise<ClientId>;
  get(id: ClientId): Promise<ClientRow | undefined>;
  list(): Promise<ClientRow[]>;
}

// ---- services ----

export interface ServiceRow {
  readonly id: ServiceId;
  readonly name: string;
  readonly createdAtMs: number;
}

export interface ServiceTable {
  insert(row: Omit<ServiceRow, 'id'>): Promise<ServiceRow>;
  get(id: ServiceId): Promise<ServiceRow | undefined>;
  list(): Promise<ServiceRow[]>;
}

// ---- programmes ----

export const PROGRAMME_PRICINGS = ['subscription', 'per_segment', 'both', 'session'] as const;
/**
 * Which entitlements open a programme: a subscription to its service, a per-segment purchase, or either; or
 * `session`: sold per minute of session membership (docs/membership.md), content keys only to session members.
 */
export type ProgrammePricing = (typeof PROGRAMME_PRICINGS)[number];

export interface ProgrammeRow {
  readonly id: ProgrammeId;
  readonly serviceId: ServiceId;
  readonly name: string;
  readonly group: string;
  readonly port: number;
  readonly keyPort: number;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  /** How packets signal a key change: the MKI (claims 25-28) or the RTP padding bit (claim 29, docs/key-phase.md). */
  readonly keyChange: KeyChangeMode;
  readonly segmentLengthMs: number;
  readonly cryptoPeriodMs: number;
  readonly pricing: ProgrammePricing;
  readonly createdAtMs: number;
}

export interface ProgrammeTable {
  insert(row: Omit<ProgrammeRow, 'id'>): Promise<ProgrammeRow>;
  get(id: ProgrammeId): Promise<ProgrammeRow | undefined>;
  list(): Promise<ProgrammeRow[]>;
  /** The next content key id of the programme (1, 2, ...; never reused). */
  allocateKeyId(id: ProgrammeId): Promise<KeyId>;
  /** The next key-message sequence number of the programme (1, 2, ...). */
  allocateMessageSeq(id: ProgrammeId): Promise<number>;
}

// ---- entitlements ----

export type EntitlementRow =
  | {
      readonly id: number;
      readonly kind: 'subscription';
      readonly clientId: ClientId;
      readonly serviceId: ServiceId;
      /** 'YYYY-MM' (UTC calendar month). */
      readonly period: string;
      readonly createdAtMs: number;
    }
  | {
      readonly id: number;
      readonly kind: 'per_segment';
      readonly clientId: ClientId;
      readonly programmeId: ProgrammeId;
      /** Inclusive range; null = unbounded on that side. */
      readonly fromSegment: SegmentIndex | null;
      readonly toSegment: SegmentIndex | null;
      readonly createdAtMs: number;
    };

export type EntitlementInput =
  | Omit<Extract<EntitlementRow, { kind: 'subscription' }>, 'id'>
  | Omit<Extract<EntitlementRow, { kind: 'per_segment' }>, 'id'>;

export interface EntitlementTable {
  insert(row: EntitlementInput): Promise<EntitlementRow>;
  hasSubscription(clientId: ClientId, serviceId: ServiceId, period: string): Promise<boolean>;
  hasSegment(clientId: ClientId, programmeId: ProgrammeId, segment: SegmentIndex): Promise<boolean>;
  listForClient(clientId: ClientId): Promise<EntitlementRow[]>;
}

// ---- service keys ----

export interface ServiceKeyRow {
  readonly serviceId: ServiceId;
  /** 'YYYY-MM' (UTC calendar month). */
  readonly period: string;
  /** SK wrapped under the server master key (AAD "keycast/v1 sk>master service=<id> period=<YYYY-MM>"). */
  readonly wrappedKey: Uint8Array;
  readonly createdAtMs: number;
}

export interface ServiceKeyTable {
  /** Inserts unless present; returns the stored row either way. */
  insertIfAbsent(row: ServiceKeyRow): Promise<ServiceKeyRow>;
  get(serviceId: ServiceId, period: string): Promise<ServiceKeyRow | undefined>;
}

// ---- segment keys ----

export interface SegmentKeyRow {
  readonly programmeId: ProgrammeId;
  readonly segment: SegmentIndex;
  readonly epoch: number;
  /** PSK wrapped under the server master key. */
  readonly wrappedKey: Uint8Array;
  readonly createdAtMs: number;
}

export interface SegmentKeyTable {
  /** Inserts unless present; returns the stored row either way. */
  insertIfAbsent(row: SegmentKeyRow): Promise<SegmentKeyRow>;
  get(programmeId: ProgrammeId, segment: SegmentIndex, epoch: number): Promise<SegmentKeyRow | undefined>;
}

// ---- content keys ----

export interface ContentKeyRow {
  readonly programmeId: ProgrammeId;
  readonly keyId: KeyId;
  readonly segment: SegmentIndex;
  readonly epoch: number;
  readonly ssrc: Ssrc;
  readonly roc: number;
  readonly seq: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
  /** masterKey ‖ masterSalt wrapped under the server master key. */
  readonly wrappedKey: Uint8Array;
  readonly createdAtMs: number;
}

export interface ContentKeyTable {
  insert(row: ContentKeyRow): Promise<void>;
  /** The highest segment any content key of the programme was issued for, or undefined. */
  latestSegment(programmeId: ProgrammeId): Promise<SegmentIndex | undefined>;
  /** When the segment went on the air: the earliest activation of its content keys, or undefined if none. */
  segmentStartMs(programmeId: ProgrammeId, segment: SegmentIndex): Promise<number | undefined>;
  list(programmeId: ProgrammeId): Promise<ContentKeyRow[]>;
}

// ---- nonces ----

export interface NonceTable {
  /** Remembers (client, nonce) until `expiresAtMs`; false when it is already remembered (a replay). */
  remember(clientId: ClientId, nonceHex: string, expiresAtMs: number): Promise<boolean>;
  /** Forgets nonces that expired before `nowMs`. */
  prune(nowMs: number): Promise<number>;
}

// ---- the request log ----

export const LOG_EVENTS = [
  'segment_key',
  'service_key',
  'content_key',
  'programme',
  'purchase',
  'grant',
  'enrol',
  'keys_export',
  // Sessions (docs/membership.md).
  'join',
  'leave',
  'evict',
  'billing_stop',
  'group_rekey',
  'session_keys',
  'session_ack',
  'keepalive',
] as const;
export type LogEvent = (typeof LOG_EVENTS)[number];
export const LOG_OUTCOMES = ['delivered', 'denied'] as const;
export type LogOutcome = (typeof LOG_OUTCOMES)[number];
export const LOG_BASES = ['subscription', 'per_segment'] as const;
export type LogBasis = (typeof LOG_BASES)[number];

/** One log record as written by the caller; seq, prevHash and hash are added by `log.append`. */
export interface LogInput {
  readonly timeMs: number;
  readonly requestId: string | null;
  /** As claimed by the request (or the operator's subject); see `authenticated`. */
  readonly clientId: ClientId | null;
  readonly authenticated: boolean;
  readonly serviceId: ServiceId | null;
  readonly programmeId: ProgrammeId | null;
  readonly segment: SegmentIndex | null;
  readonly keyId: KeyId | null;
  readonly event: LogEvent;
  readonly outcome: LogOutcome;
  /** Refusal code (docs/errors.md) for denials, else null. */
  readonly code: string | null;
  readonly basis: LogBasis | null;
  /** Subscription period 'YYYY-MM' for subscription purchases and grants. */
  readonly period: string | null;
  /** Small JSON text with event-specific detail (e.g. a granted segment range), or null. */
  readonly detail: string | null;
  /** The stored answer (JSON text) replayed to an idempotent retry: wrapped keys only, never a clear key. */
  readonly response: string | null;
}

export interface LogRecord extends LogInput {
  readonly seq: number;
  /** Hex SHA-256 of the previous record (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 over prevHash and the canonical encoding of this record (src/store/log-chain.ts). */
  readonly hash: string;
}

export interface LogTable {
  append(input: LogInput): Promise<LogRecord>;
  head(): Promise<{ readonly seq: number; readonly hash: string } | undefined>;
  /** Records with seq >= fromSeq in order, at most `limit`. */
  range(fromSeq: number, limit: number): Promise<LogRecord[]>;
  /** The delivered, authenticated record of (client, requestId), if any: the stored answer for a retry. */
  findDelivered(clientId: ClientId, requestId: string): Promise<LogRecord | undefined>;
  /** Every record of these events, in seq order (indexed for the session events: join, leave, evict, billing_stop). */
  byEvents(events: readonly LogEvent[]): Promise<LogRecord[]>;
}
