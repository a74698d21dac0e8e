// The key server's data directory:
//
//   keycast.db           the SQLite store (WAL: also keycast.db-wal, keycast.db-shm)
//   master.key           32 raw bytes: the server master key, wraps every key at rest (UK, PSK, CK)
//   server-signing.key   32 raw bytes: the Ed25519 private seed that signs key messages
//   server-signing.pub   32 raw bytes: its public key (also in every client's credentials file)
//
// The directory is mode 0700 and every file 0600; the loader refuses key files that others can read.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '../crypto/random.js';
import { generateSigningKeyPair, signingPublicKey, type SigningKeyPair } from '../crypto/sign.js';
import { openSqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export const DB_FILE = 'keycast.db';
export const MASTER_KEY_FILE = 'master.key';
export const SIGNING_KEY_FILE = 'server-signing.key';
export const SIGNING_PUBLIC_KEY_FILE = 'server-signing.pub';
export const MASTER_KEY_LENGTH_BYTES = 32;

export interface ServerSecrets {
  /** Wraps keys at rest. Secret. */
  readonly masterKey: Uint8Array;
  /** Signs key messages; publicKey goes into credentials files. */
  readonly signing: SigningKeyPair;
}

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

function writeSecret(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/**
 * Creates a data directory: master key, signing key pair, and an empty migrated database. Refuses a directory that
 * already holds any of them (so `keycast init` never overwrites keys).
 */
export async function initDataDir(dir: string): Promise<{ readonly publicKey: Uint8Array }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of [DB_FILE, MASTER_KEY_FILE, SIGNING_KEY_FILE, SIGNING_PUBLIC_KEY_FILE]) {
    if (existsSync(join(dir, f)))
      throw new DataDirError(`${join(dir, f)} exists: ${dir} is already initialised`);
  }
  const signing = generateSigningKeyPair();
  writeSecret(join(dir, MASTER_KEY_FILE), randomBytes(MASTER_KEY_LENGTH_BYTES));
  writeSecret(join(dir, SIGNING_KEY_FILE), signing.privateKey);
  writeSecret(join(dir, SIGNING_PUBLIC_KEY_FILE), signing.publicKey);
  const store = openSqliteStore(join(dir, DB_FILE));
  await store.close();
  chmodSync(join(dir, DB_FILE), 0o600);
  return { publicKey: signing.publicKey };
}

function readSecret(dir: string, file: string, lengthBytes: number): Uint8Array {
  const path = join(dir, file);
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new DataDirError(`${path} is missing: run \`keycast init --data ${dir}\` first`);
  }
  if ((mode & 0o077) !== 0) {
    throw new DataDirError(
      `${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const bytes = new Uint8Array(readFileSync(path));
  if (bytes.length !== lengthBytes) {
    throw new DataDirError(`${path} must hold ${lengthBytes} bytes, has ${bytes.length}`);
  }
  return bytes;
}

/** Reads and checks the server's secrets from the data directory. */
export function loadServerSecrets(dir: string): ServerSecrets {
  const masterKey = readSecret(dir, MASTER_KEY_FILE, MASTER_KEY_LENGTH_BYTES);
  const privateKey = readSecret(dir, SIGNING_KEY_FILE, 32);
  const publicKey = readSecret(dir, SIGNING_PUBLIC_KEY_FILE, 32);
  if (Buffer.compare(signingPublicKey(privateKey), publicKey) !== 0) {
    throw new DataDirError(`${join(dir, SIGNING_PUBLIC_KEY_FILE)} does not match ${SIGNING_KEY_FILE}`);
  }
  return { masterKey, signing: { publicKey, privateKey } };
}

/** Opens the data directory's store (the database must exist: `keycast init` creates it). */
export function openDataDirStore(dir: string): Store {
  const path = join(dir, DB_FILE);
  if (!existsSync(path))
    throw new DataDirError(`${path} is missing: run \`keycast init --data ${dir}\` first`);
  return openSqliteStore(path);
}
