// Operator operations over the store, shared by the CLI (`keycast client enrol`, `service create`, ...) and by the
// demo, which calls them in-process. Each runs in one transaction and, where it changes who may get keys, appends a
// log record in that same transaction. Bad operator input throws AdminError with a message fit for a terminal.
import { isIPv4, isIPv6 } from 'node:net';
import { isSrtpProfileName } from '../crypto/srtp-profiles.js';
import { type ClientId, type ProgrammeId, type SegmentIndex, type ServiceId } from '../ids.js';
import { generateClientKey, type ClientRole, CLIENT_ROLES } from '../keys/client-key.js';
import type { Credentials } from '../keys/credentials.js';
import { isPeriod, periodOf } from '../keys/service-key.js';
import { DEFAULT_KEY_CHANGE, KEY_CHANGE_MODES, isKeyChangeMode } from '../packet/key-phase.js';
import { DEFAULT_PROFILE, isKeyMessageProfile } from '../packet/profile-code.js';
import type { ServerSecrets } from './data-dir.js';
import {
  PROGRAMME_PRICINGS,
  type ClientRow,
  type EntitlementRow,
  type ProgrammePricing,
  type ProgrammeRow,
  type ServiceRow,
  type Store,
} from './types.js';
import { sealClientKey } from './vault.js';

export class AdminError extends Error {
  override readonly name = 'AdminError';
}

export const DEFAULT_SEGMENT_LENGTH_MS = 300_000;
export const DEFAULT_CRYPTO_PERIOD_MS = 10_000;
export const DEFAULT_MKI_LENGTH_BYTES = 4;
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8443';

function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new AdminError(message);
}

function checkU32(name: string, v: number, min = 0): void {
  check(
    Number.isInteger(v) && v >= min && v <= 0xffffffff,
    `${name} must be an integer in ${min}..4294967295, got ${v}`,
  );
}

function checkName(name: string): void {
  check(name.trim().length > 0 && name.length <= 200, 'name must be 1..200 characters');
}

export { isPeriod, periodOf };

export function isMulticastGroup(group: string): boolean {
  if (isIPv4(group)) {
    const first = Number(group.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIPv6(group) && group.toLowerCase().startsWith('ff');
}

export interface EnrolInput {
  readonly name: string;
  readonly role?: ClientRole;
  /** Written into the credentials file; default http://127.0.0.1:8443. */
  readonly serverUrl?: string;
  readonly nowMs?: number;
  /**
   * Hands the new credentials over (e.g. writes the credentials file) inside the enrolment's transaction: if it
   * throws, the enrolment rolls back and leaves no client and no log record, so a client never exists whose
   * credentials went nowhere. Keep it short (a local file write): the store is held while it runs.
   */
  readonly saveCredentials?: (credentials: Credentials) => Promise<void>;
}

/** Enrols a client: a fresh UK stored under the master key, and the credentials to hand to the client. */
export async function enrolClient(
  store: Store,
  secrets: ServerSecrets,
  input: EnrolInput,
): Promise<{ readonly client: ClientRow; readonly credentials: Credentials }> {
  checkName(input.name);
  const role = input.role ?? 'receiver';
  check(CLIENT_ROLES.includes(role), `role must be one of ${CLIENT_ROLES.join(', ')}`);
  const serverUrl = input.serverUrl ?? DEFAULT_SERVER_URL;
  check(
    URL.canParse(serverUrl) && /^https?:$/.test(new URL(serverUrl).protocol),
    `bad server URL ${serverUrl}`,
  );
  const nowMs = input.nowMs ?? Date.now();
  const uk = generateClientKey();
  return store.transact(async (tx) => {
    const id = await tx.clients.nextId();
    const client = await tx.clients.insert({
      id,
      name: input.name,
      role,
      wrappedKey: sealClientKey(secrets.masterKey, id, uk),
      createdAtMs: nowMs,
    });
    await tx.log.append({
      ...operatorRecord(nowMs, 'enrol'),
      clientId: id,
      detail: JSON.stringify({ role }),
    });
    const credentials: Credentials = {
      version: 1,
      clientId: client.id,
      role,
      clientKey: uk,
      serverUrl,
      serverPublicKey: secrets.signing.publicKey,
    };
    if (input.saveCredentials !== undefined) await input.saveCredentials(credentials);
    return { client, credentials };
  });
}

export async function createService(
  store: Store,
  input: { name: string; nowMs?: number },
): Promise<ServiceRow> {
  checkName(input.name);
  return store.transact((tx) =>
    tx.services.insert({ name: input.name, createdAtMs: input.nowMs ?? Date.now() }),
  );
}

export interface ProgrammeInput {
  readonly serviceId: ServiceId;
  readonly name: string;
  readonly group: string;
  readonly port: number;
  /** Default port + 2. */
  readonly keyPort?: number;
  readonly profile?: string;
  /** Default 4 with the MKI, 0 (the only value allowed) in phase mode. */
  readonly mkiLengthBytes?: number;
  /** How packets signal a key change: 'mki' (default) or 'phase', the RTP padding bit (docs/key-phase.md). */
  readonly keyChange?: string;
  readonly segmentLengthMs?: number;
  readonly cryptoPeriodMs?: number;
  readonly pricing?: ProgrammePricing;
  /**
   * Allow a group and port (media or key) that another programme already uses, e.g. to replace a programme that is
   * off the air. Receivers on that address then see both streams and drop the other's packets (unknown_key).
   */
  readonly allowSharedGroup?: boolean;
  readonly nowMs?: number;
}

/** A group address in one spelling, so that ff15::1 and FF15:0:0::1 compare equal. */
function canonicalGroup(group: string): string {
  return isIPv6(group) ? new URL(`http://[${group}]/`).hostname : group;
}

export async function createProgramme(store: Store, input: ProgrammeInput): Promise<ProgrammeRow> {
  checkName(input.name);
  check(
    isMulticastGroup(input.group),
    `group ${input.group} is not a multicast address (224.0.0.0/4 or ff00::/8)`,
  );
  const port = input.port;
  const keyPort = input.keyPort ?? port + 2;
  check(Number.isInteger(port) && port >= 1 && port <= 65535, `port must be 1..65535, got ${port}`);
  check(
    Number.isInteger(port) && port <= 65534,
    `port must leave room for SRTCP on port + 1 (RFC 3550 §11), got ${port}`,
  );
  check(
    input.keyPort !== undefined || port <= 65533,
    `port ${port} leaves no room for keys on port + 2: choose a lower port or give a key port`,
  );
  check(
    Number.isInteger(keyPort) && keyPort >= 1 && keyPort <= 65535,
    `key port must be 1..65535, got ${keyPort}`,
  );
  check(keyPort !== port, 'key port must differ from the media port');
  check(keyPort !== port + 1, `key port ${keyPort} is the SRTCP port (media port + 1); choose another`);
  const profile = input.profile ?? DEFAULT_PROFILE;
  check(isKeyMessageProfile(profile), `unknown SRTP profile ${profile}`);
  check(isSrtpProfileName(profile), `SRTP profile ${profile} is not implemented by this keycast`);
  const keyChange = input.keyChange ?? DEFAULT_KEY_CHANGE;
  check(
    isKeyChangeMode(keyChange),
    `key change must be one of ${KEY_CHANGE_MODES.join(', ')}, got ${keyChange}`,
  );
  const mkiLengthBytes = input.mkiLengthBytes ?? (keyChange === 'phase' ? 0 : DEFAULT_MKI_LENGTH_BYTES);
  check(
    Number.isInteger(mkiLengthBytes) && mkiLengthBytes >= 0 && mkiLengthBytes <= 4,
    'MKI length must be 0..4 bytes',
  );
  check(
    keyChange === 'mki' || profile !== 'AES_CM_128_HMAC_SHA1_32',
    "key change 'phase' lets a forger try both P bits, which a 32-bit tag cannot afford (2^-31 per packet): use an 80-bit or AEAD profile (docs/key-phase.md)",
  );
  check(
    keyChange === 'mki' || mkiLengthBytes === 0,
    `key change 'phase' carries the key phase in the RTP padding bit and takes MKI length 0, got ${mkiLengthBytes}`,
  );
  const segmentLengthMs = input.segmentLengthMs ?? DEFAULT_SEGMENT_LENGTH_MS;
  const cryptoPeriodMs = input.cryptoPeriodMs ?? DEFAULT_CRYPTO_PERIOD_MS;
  check(Number.isInteger(cryptoPeriodMs) && cryptoPeriodMs >= 100, 'crypto period must be at least 100 ms');
  check(
    Number.isInteger(segmentLengthMs) &&
      segmentLengthMs >= cryptoPeriodMs &&
      segmentLengthMs % cryptoPeriodMs === 0,
    `segment length (${segmentLengthMs} ms) must be a whole number of crypto periods (${cryptoPeriodMs} ms)`,
  );
  const pricing = input.pricing ?? 'both';
  check(PROGRAMME_PRICINGS.includes(pricing), `pricing must be one of ${PROGRAMME_PRICINGS.join(', ')}`);
  return store.transact(async (tx) => {
    check(
      (await tx.services.get(input.serviceId)) !== undefined,
      `service ${input.serviceId} does not exist`,
    );
    if (input.allowSharedGroup !== true) {
      const group = canonicalGroup(input.group);
      for (const other of await tx.programmes.list()) {
        if (canonicalGroup(other.group) !== group) continue;
        // Every programme uses three ports of its group: media, SRTCP (media + 1) and keys.
        const theirs = [other.port, other.port + 1, other.keyPort];
        const clash = [port, port + 1, keyPort].find((x) => theirs.includes(x));
        check(
          clash === undefined,
          `${input.group} port ${clash} is already used by programme ${other.id} (${other.name}: media ` +
            `${other.port}, SRTCP ${other.port + 1}, keys ${other.keyPort}); choose another group or ports, or allow a shared group (--allow-shared-group)`,
        );
      }
    }
    return tx.programmes.insert({
      serviceId: input.serviceId,
      name: input.name,
      group: input.group,
      port,
      keyPort,
      profile,
      mkiLengthBytes,
      keyChange,
      segmentLengthMs,
      cryptoPeriodMs,
      pricing,
      createdAtMs: input.nowMs ?? Date.now(),
    });
  });
}

/** Grants are for receivers: a sender gets content keys by its role, and a grant to it would only be billed. */
function checkGrantee(client: ClientRow | undefined, id: ClientId): void {
  check(client !== undefined, `client ${id} does not exist`);
  check(
    client.role === 'receiver',
    `client ${id} (${client.name}) is a ${client.role}; entitlements are granted to receivers only`,
  );
}

/** An operator grant of a subscription (client, service, 'YYYY-MM'); logged as event 'grant', billed per period. */
export async function grantSubscription(
  store: Store,
  input: { clientId: ClientId; serviceId: ServiceId; period: string; nowMs?: number },
): Promise<EntitlementRow> {
  check(isPeriod(input.period), `period must be YYYY-MM, got ${input.period}`);
  const nowMs = input.nowMs ?? Date.now();
  return store.transact(async (tx) => {
    checkGrantee(await tx.clients.get(input.clientId), input.clientId);
    check(
      (await tx.services.get(input.serviceId)) !== undefined,
      `service ${input.serviceId} does not exist`,
    );
    const row = await tx.entitlements.insert({
      kind: 'subscription',
      clientId: input.clientId,
      serviceId: input.serviceId,
      period: input.period,
      createdAtMs: nowMs,
    });
    await tx.log.append({
      ...operatorRecord(nowMs, 'grant'),
      clientId: input.clientId,
      serviceId: input.serviceId,
      basis: 'subscription',
      period: input.period,
    });
    return row;
  });
}

/** An operator grant of a programme's segments (inclusive range; absent bounds are open); logged as 'grant'. */
export async function grantSegments(
  store: Store,
  input: {
    clientId: ClientId;
    programmeId: ProgrammeId;
    fromSegment?: SegmentIndex | undefined;
    toSegment?: SegmentIndex | undefined;
    nowMs?: number;
  },
): Promise<EntitlementRow> {
  const from = input.fromSegment ?? null;
  const to = input.toSegment ?? null;
  if (from !== null) checkU32('from segment', from);
  if (to !== null) checkU32('to segment', to);
  check(from === null || to === null || from <= to, `segment range ${from}..${to} is empty`);
  const nowMs = input.nowMs ?? Date.now();
  return store.transact(async (tx) => {
    checkGrantee(await tx.clients.get(input.clientId), input.clientId);
    const programme = await tx.programmes.get(input.programmeId);
    check(programme !== undefined, `programme ${input.programmeId} does not exist`);
    const row = await tx.entitlements.insert({
      kind: 'per_segment',
      clientId: input.clientId,
      programmeId: input.programmeId,
      fromSegment: from,
      toSegment: to,
      createdAtMs: nowMs,
    });
    await tx.log.append({
      ...operatorRecord(nowMs, 'grant'),
      clientId: input.clientId,
      serviceId: programme.serviceId,
      programmeId: input.programmeId,
      basis: 'per_segment',
      detail: JSON.stringify({ fromSegment: from, toSegment: to }),
    });
    return row;
  });
}

/** A log record for an operator action (no HTTP request: requestId null, authenticated false). */
export function operatorRecord(nowMs: number, event: 'enrol' | 'grant' | 'keys_export') {
  return {
    timeMs: nowMs,
    requestId: null,
    clientId: null,
    authenticated: false,
    serviceId: null,
    programmeId: null,
    segment: null,
    keyId: null,
    event,
    outcome: 'delivered',
    code: null,
    basis: null,
    period: null,
    detail: null,
    response: null,
  } as const;
}
