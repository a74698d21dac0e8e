// A service key kept from a purchase, as the key server delivered it: wrapped under the client key (claim 11), so
// the file opens only together with that client's credentials file. JSON, written mode 0600:
//
//   { "version": 1, "clientId": 7, "serviceId": 1, "period": "2026-12", "wrappedKey": "<base64>" }
//
// `keycast purchase subscription --out FILE` writes it; `keycast receive --service-key FILE` reads it, so a
// subscriber needs no key request at all after its purchase.
import { parseSecretJson } from './secret-json.js';
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { isPeriod } from './service-key.js';

export interface ServiceKeyFile {
  readonly version: 1;
  readonly clientId: number;
  readonly serviceId: number;
  readonly period: string;
  /** The SK wrapped under the client key, base64 (AAD "keycast/v1 sk>client client=.. service=.. period=.."). */
  readonly wrappedKey: string;
}

const schema = z.strictObject({
  version: z.literal(1),
  clientId: z.int().min(1).max(0xffffffff),
  serviceId: z.int().min(1).max(0xffffffff),
  period: z.string().refine(isPeriod, { error: 'period must be YYYY-MM' }),
  wrappedKey: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: 'wrappedKey must be base64' }),
});

export class ServiceKeyFileError extends Error {
  override readonly name = 'ServiceKeyFileError';
}

export async function readServiceKeyFile(path: string): Promise<ServiceKeyFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ServiceKeyFileError(`${path}: cannot read service key file: ${(err as Error).message}`);
  }
  const parsed = parseSecretJson(text);
  if (!parsed.ok) throw new ServiceKeyFileError(`${path}: service key file is ${parsed.message}`);
  const json = parsed.json;
  const r = schema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ServiceKeyFileError(`${path}: invalid service key file: ${problems}`);
  }
  return { ...r.data, version: 1 };
}

export async function writeServiceKeyFile(path: string, f: ServiceKeyFile): Promise<void> {
  try {
    await writeFile(path, `${JSON.stringify(f, null, 2)}\n`, { mode: 0o600 });
  } catch (err) {
    throw new ServiceKeyFileError(`${path}: cannot write service key file: ${(err as Error).message}`);
  }
}
