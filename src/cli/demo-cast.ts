// The demo's receivers and what each is entitled to: a subscriber (bought through the API, segment keys by
// multicast), a buyer of every segment, a buyer of segment 0 only, a late joiner that arrives after the RTP
// sequence number has wrapped, and a receiver with no entitlement. This file enrols them and sets up their
// entitlements; demo.ts runs them.
import { join } from 'node:path';
import { asSegmentIndex, type ClientId, type ProgrammeId, type ServiceId } from '../ids.js';
import { writeCredentialsFile } from '../keys/credentials.js';
import { enrolClient, grantSegments, periodOf, type ServerSecrets, type Store } from '../store/index.js';
import { spawnKeycast, type Child } from './child.js';
import { tail } from './demo-util.js';

export type Entitlement = 'subscription' | 'per_segment' | 'none' | 'session';

export interface ReceiverSpec {
  readonly name: string;
  /** Short name for the live progress line. */
  readonly label: string;
  readonly entitlement: Entitlement;
  /** A per-segment grant: its first and last segment (inclusive); no `to` means every later segment too. */
  readonly segments?: { readonly from: number; readonly to?: number };
  /** Starts only after the sender's RTP sequence number has wrapped (ROC ≥ 1). */
  readonly late?: boolean;
}

export const RECEIVERS: readonly ReceiverSpec[] = [
  { name: 'subscriber', label: 'sub', entitlement: 'subscription' },
  { name: 'pay-per-segment', label: 'ppv', entitlement: 'per_segment', segments: { from: 0 } },
  { name: 'segment-0-only', label: 'seg0', entitlement: 'per_segment', segments: { from: 0, to: 0 } },
  // A buyer of every segment (not a subscriber): it fetches its keys over HTTP, so its late start also shows that
  // a key fetched mid-programme carries the ROC it needs.
  { name: 'late-joiner', label: 'late', entitlement: 'per_segment', segments: { from: 0 }, late: true },
  { name: 'no-entitlement', label: 'none', entitlement: 'none' },
];

/** The segments of a programme of `segments` segments that the receiver bought or subscribes to. */
export function segmentsEntitled(spec: ReceiverSpec, segments: number): number[] {
  const all = Array.from({ length: segments }, (_, i) => i);
  if (spec.entitlement === 'subscription') return all;
  if (spec.entitlement === 'none' || spec.segments === undefined) return [];
  const { from, to } = spec.segments;
  return all.filter((s) => s >= from && (to === undefined || s <= to));
}

export interface CastMember {
  readonly spec: ReceiverSpec;
  readonly client: { readonly id: ClientId; readonly path: string };
  readonly output: string;
  readonly stats: string;
  /** Arguments for `keycast receive` beyond the common ones (the kept service key). */
  readonly extraArgs: readonly string[];
}

export interface CastContext {
  readonly dir: string;
  readonly store: Store;
  readonly secrets: ServerSecrets;
  readonly serverUrl: string;
  readonly serviceId: ServiceId;
  readonly programmeId: ProgrammeId;
  /** Children started here (the purchase) are added, so that the demo stops them whatever happens. */
  readonly children: Child[];
}

/** Enrols a client and writes its credentials file. */
export async function enrol(
  ctx: CastContext,
  name: string,
  role: 'sender' | 'receiver',
): Promise<{ id: ClientId; path: string }> {
  const { client, credentials } = await enrolClient(ctx.store, ctx.secrets, {
    name,
    role,
    serverUrl: ctx.serverUrl,
  });
  const path = join(ctx.dir, `${name}.credentials.json`);
  await writeCredentialsFile(path, credentials);
  return { id: client.id, path };
}

/** Enrols each receiver and gives it its entitlement: a subscription bought through the API, or a grant. */
export async function setUpCast(ctx: CastContext): Promise<CastMember[]> {
  const cast: CastMember[] = [];
  for (const spec of RECEIVERS) {
    const client = await enrol(ctx, spec.name, 'receiver');
    const extraArgs: string[] = [];
    if (spec.entitlement === 'subscription') {
      extraArgs.push('--service-key', await buySubscription(ctx, spec.name, client.path));
    } else if (spec.entitlement === 'per_segment' && spec.segments !== undefined) {
      await grantSegments(ctx.store, {
        clientId: client.id,
        programmeId: ctx.programmeId,
        fromSegment: asSegmentIndex(spec.segments.from),
        toSegment: spec.segments.to === undefined ? undefined : asSegmentIndex(spec.segments.to),
      });
    }
    cast.push({
      spec,
      client,
      output: join(ctx.dir, `${spec.name}.ts`),
      stats: join(ctx.dir, `${spec.name}.stats.json`),
      extraArgs,
    });
  }
  return cast;
}

/** `keycast purchase subscription` as the client would run it; returns the file holding the service key. */
async function buySubscription(ctx: CastContext, name: string, credentialsPath: string): Promise<string> {
  const keyFile = join(ctx.dir, `${name}.service-key.json`);
  const log = join(ctx.dir, `${name}-purchase.log`);
  const buyer = spawnKeycast(
    `${name}-purchase`,
    [
      'purchase',
      'subscription',
      '--credentials',
      credentialsPath,
      '--service',
      String(ctx.serviceId),
      '--period',
      periodOf(Date.now()),
      '--out',
      keyFile,
    ],
    log,
  );
  ctx.children.push(buyer);
  if ((await buyer.exited) !== 0) {
    throw new Error(`the subscription purchase failed; the end of its log:\n${await tail(log, 10)}`);
  }
  return keyFile;
}
