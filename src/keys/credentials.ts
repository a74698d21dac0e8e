// The client's credentials file (its "smartcard"): who it is, its client key UK, where the key server is, and the
// server's Ed25519 public key for checking key messages. JSON, written mode 0600:
//
//   { "version": 1, "clientId": 7, "role": "receiver", "clientKey": "<base64, 32 bytes>",
//     "serverUrl": "http://127.0.0.1:8443", "serverPublicKey": "<base64, raw Ed25519, 32 bytes>" }
import { parseSecretJson } from './secret-json.js';
import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ED25519_PUBLIC_KEY_LENGTH_BYTES } from '../crypto/sign.js';
import { asClientId, type ClientId } from '../ids.js';
import { CLIENT_KEY_LENGTH_BYTES, CLIENT_ROLES, type ClientRole } from './client-key.js';

export const CREDENTIALS_VERSION = 1;

export interface Credentials {
  readonly version: 1;
  readonly clientId: ClientId;
  readonly role: ClientRole;
  readonly clientKey: Uint8Array;
  readonly serverUrl: string;
  readonly serverPublicKey: Uint8Array;
}

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Bytes(lengthBytes: number, what: string) {
  return z
    .string({ error: `${what} must be a base64 string` })
    .refine((s) => BASE64.test(s) && s.length % 4 === 0, { error: `${what} is not valid base64` })
    .transform((s) => new Uint8Array(Buffer.from(s, 'base64')))
    .refine((b) => b.length === lengthBytes, { error: `${what} must decode to ${lengthBytes} bytes` });
}

export const credentialsSchema = z.strictObject({
  version: z.literal(CREDENTIALS_VERSION, { error: `version must be ${CREDENTIALS_VERSION}` }),
  clientId: z.int({ error: 'clientId must be an integer' }).min(1).max(0xffffffff),
  role: z.enum(CLIENT_ROLES, { error: `role must be one of ${CLIENT_ROLES.join(', ')}` }),
  clientKey: base64Bytes(CLIENT_KEY_LENGTH_BYTES, 'clientKey'),
  serverUrl: z.url({ protocol: /^https?$/, error: 'serverUrl must be an http(s) URL' }),
  serverPublicKey: base64Bytes(ED25519_PUBLIC_KEY_LENGTH_BYTES, 'serverPublicKey'),
});

/** Validate parsed JSON as credentials; throws CredentialsError naming every bad field. */
export function parseCredentials(json: unknown, source = 'credentials'): Credentials {
  const r = credentialsSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CredentialsError(`${source}: invalid credentials: ${problems}`);
  }
  return { ...r.data, version: 1, clientId: asClientId(r.data.clientId) };
}

export function serialiseCredentials(c: Credentials): string {
  const json = {
    version: CREDENTIALS_VERSION,
    clientId: c.clientId,
    role: c.role,
    clientKey: Buffer.from(c.clientKey).toString('base64'),
    serverUrl: c.serverUrl,
    serverPublicKey: Buffer.from(c.serverPublicKey).toString('base64'),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

export interface ReadCredentialsOptions {
  /**
   * Told (one line) when the file is readable or writable by group or others: it holds the client key. Default:
   * `keycast: warning: ...` on stderr. A warning, not an error: the file still loads.
   */
  readonly warn?: (message: string) => void;
}

const warnOnStderr = (message: string): void => {
  process.stderr.write(`keycast: warning: ${message}\n`);
};

export async function readCredentialsFile(
  path: string,
  opts: ReadCredentialsOptions = {},
): Promise<Credentials> {
  let text: string;
  let mode: number;
  try {
    text = await readFile(path, 'utf8');
    mode = (await stat(path)).mode;
  } catch (err) {
    throw new CredentialsError(`${path}: cannot read credentials file: ${(err as Error).message}`);
  }
  const parsed = parseSecretJson(text);
  if (!parsed.ok) throw new CredentialsError(`${path}: credentials file is ${parsed.message}`);
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    (opts.warn ?? warnOnStderr)(
      `${path} (mode ${octal}) is open to group/others and holds a client key; run chmod 600 ${path}`,
    );
  }
  return parseCredentials(parsed.json, path);
}

export interface WriteCredentialsOptions {
  /** Replace an existing file (default true). When false, an existing file is refused with CredentialsError. */
  readonly overwrite?: boolean;
}

/**
 * Write the credentials file with mode 0600. Replacing: written to a temporary file first, then renamed into place.
 * Not replacing: created exclusively (refused if the file exists) and removed again if the write fails. Every
 * failure is a CredentialsError naming the file.
 */
export async function writeCredentialsFile(
  path: string,
  c: Credentials,
  opts: WriteCredentialsOptions = {},
): Promise<void> {
  const text = serialiseCredentials(c);
  const fail = (err: unknown): CredentialsError =>
    new CredentialsError(`${path}: cannot write credentials file: ${(err as Error).message}`);
  if (opts.overwrite === false) {
    try {
      await writeFile(path, text, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CredentialsError(`${path}: credentials file already exists; not replacing it`);
      }
      await unlink(path).catch(() => undefined);
      throw fail(err);
    }
    try {
      await chmod(path, 0o600);
    } catch (err) {
      await unlink(path).catch(() => undefined);
      throw fail(err);
    }
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'w' });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fail(err);
  }
}
