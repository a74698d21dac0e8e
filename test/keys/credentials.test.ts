import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { asClientId } from '../../src/ids.js';
import { generateClientKey } from '../../src/keys/client-key.js';
import {
  CredentialsError,
  readCredentialsFile,
  writeCredentialsFile,
  type Credentials,
} from '../../src/keys/credentials.js';

const creds: Credentials = {
  version: 1,
  clientId: asClientId(3),
  role: 'receiver',
  clientKey: generateClientKey(),
  serverUrl: 'http://127.0.0.1:8443',
  serverPublicKey: generateSigningKeyPair().publicKey,
};

describe('credentials file', () => {
  it('is written mode 0600 and reads back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-cred-'));
    const file = join(dir, 'c.json');
    await writeCredentialsFile(file, creds);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readCredentialsFile(file)).toEqual(creds);
  });

  it('gives clear errors naming the bad fields', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-cred-'));
    const file = join(dir, 'c.json');
    await writeCredentialsFile(file, creds);
    const json = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...json, clientKey: 'AAAA', role: 'admin', version: 2 }));
    const err = await readCredentialsFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect(String(err)).toMatch(/clientKey: clientKey must decode to 32 bytes/);
    expect(String(err)).toMatch(/role: role must be one of receiver, sender/);
    expect(String(err)).toMatch(/version: version must be 1/);
    await writeFile(file, '{not json');
    await expect(readCredentialsFile(file)).rejects.toThrow(/credentials file is not valid JSON/);
    // A damaged file must not have its key quoted back: the message gives where, never what.
    const key = String(json.clientKey);
    await writeFile(file, JSON.stringify(json, null, 2).replace(`"${key}"`, `'${key}"`));
    const damaged = String(await readCredentialsFile(file).catch((e: unknown) => e));
    expect(damaged).toMatch(/c\.json: credentials file is not valid JSON/);
    expect(damaged).not.toContain(key.slice(0, 6));
    await expect(readCredentialsFile(join(dir, 'missing.json'))).rejects.toThrow(/cannot read/);
  });

  it('warns (one line, not an error) when the file is open to group or others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-cred-'));
    const file = join(dir, 'c.json');
    await writeCredentialsFile(file, creds);
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(await readCredentialsFile(file, { warn })).toEqual(creds);
    expect(warnings).toEqual([]);
    await chmod(file, 0o644);
    expect(await readCredentialsFile(file, { warn })).toEqual(creds);
    expect(warnings).toEqual([
      `${file} (mode 0644) is open to group/others and holds a client key; run chmod 600 ${file}`,
    ]);
    expect(warnings[0]).not.toContain('\n');
  });

  it('refuses to replace an existing file when told not to, and names the file when a write fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-cred-'));
    const file = join(dir, 'c.json');
    await writeFile(file, 'another client');
    await expect(writeCredentialsFile(file, creds, { overwrite: false })).rejects.toThrow(
      `${file}: credentials file already exists; not replacing it`,
    );
    expect(await readFile(file, 'utf8')).toBe('another client');
    await writeCredentialsFile(file, creds, { overwrite: true });
    expect(await readCredentialsFile(file)).toEqual(creds);

    const fresh = join(dir, 'new.json');
    await writeCredentialsFile(fresh, creds, { overwrite: false });
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    expect(await readCredentialsFile(fresh)).toEqual(creds);

    for (const overwrite of [true, false]) {
      const err = await writeCredentialsFile(join(dir, 'no/such/dir.json'), creds, { overwrite }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CredentialsError);
      expect(String(err)).toMatch(/no\/such\/dir\.json: cannot write credentials file: ENOENT/);
    }
    expect((await readdir(dir)).sort()).toEqual(['c.json', 'new.json']); // no temporary files left behind
  });
});
