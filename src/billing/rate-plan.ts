// The rate plan: prices in integer minor units (cents) of one currency. JSON, validated with zod; documented in
// docs/rate-plan.md, sample in samples/rate-plan.json.
//
//   {
//     "version": 1,
//     "currency": "EUR",                                        ISO 4217 code
//     "subscriptions": [{ "serviceId": 1, "periodPrice": 1500 }],  price of one subscription period (a month)
//     "segments": [{ "programmeId": 1, "price": 25 }],           price of one programme segment bought per segment
//     "defaultSegmentPrice": 30,                                 optional: segments of programmes not listed
//     "sessions": [{ "programmeId": 2, "minutePrice": 5 }]      price of one started minute of session membership
//   }
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const minorUnits = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const id = z.int().min(1).max(0xffffffff);

export const ratePlanSchema = z.strictObject({
  version: z.literal(1),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR'),
  subscriptions: z.array(z.strictObject({ serviceId: id, periodPrice: minorUnits })).default([]),
  segments: z.array(z.strictObject({ programmeId: id, price: minorUnits })).default([]),
  defaultSegmentPrice: minorUnits.optional(),
  sessions: z.array(z.strictObject({ programmeId: id, minutePrice: minorUnits })).default([]),
});

type ParsedRatePlan = z.infer<typeof ratePlanSchema>;
/** A rate plan; `sessions` may be left out by callers that build one in code (none priced). */
export type RatePlan = Omit<ParsedRatePlan, 'sessions'> & { readonly sessions?: ParsedRatePlan['sessions'] };

export class RatePlanError extends Error {
  override readonly name = 'RatePlanError';
}

/** Validate parsed JSON as a rate plan; throws RatePlanError naming every bad field and duplicate. */
export function parseRatePlan(json: unknown, source = 'rate plan'): RatePlan {
  const r = ratePlanSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new RatePlanError(`${source}: ${problems}`);
  }
  const dup = (ids: number[]) => ids.find((v, i) => ids.indexOf(v) !== i);
  const s = dup(r.data.subscriptions.map((x) => x.serviceId));
  if (s !== undefined) throw new RatePlanError(`${source}: service ${s} is priced twice`);
  const p = dup(r.data.segments.map((x) => x.programmeId));
  if (p !== undefined) throw new RatePlanError(`${source}: programme ${p} is priced twice`);
  const q = dup(r.data.sessions.map((x) => x.programmeId));
  if (q !== undefined) throw new RatePlanError(`${source}: session programme ${q} is priced twice`);
  return r.data;
}

export async function readRatePlanFile(path: string): Promise<RatePlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RatePlanError(`${path}: cannot read rate plan: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RatePlanError(`${path}: rate plan is not JSON: ${(err as Error).message}`);
  }
  return parseRatePlan(json, path);
}
