// `keycast purchase subscription` as a real process against a key server on 127.0.0.1 (claims 10, 11): it buys
// through the API, keeps the service key as delivered (wrapped under the client key, mode 0600), and fails with
// the key server's words on a refusal.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeCredentialsFile } from '../../src/keys/credentials.js';
import { readServiceKeyFile } from '../../src/keys/service-key-file.js';
import { periodOf } from '../../src/keys/service-key.js';
import { KeyServerClient, openWrappedServiceKey, orThrow } from '../../src/server/client.js';
import { setup, type Fixture } from '../server/fixture.js';

const BIN = join(import.meta.dirname, '../../bin/keycast.js');
const run = promisify(execFile);

async function keycast(...args: string[]): Promise<{ stdout: string; code: number; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

let f: Fixture;
let url: string;
beforeEach(async () => {
  f = await setup();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  f.clock.now = Date.now();
});
afterEach(async () => {
  await f.close();
});

describe('keycast purchase subscription', () => {
  it('buys through the API and keeps the service key, which opens only with the buyer’s credentials', async () => {
    const creds = join(f.dir, '..', 'alice.json');
    const senderCreds = join(f.dir, '..', 'tx.json');
    await writeCredentialsFile(creds, f.receiver);
    await writeCredentialsFile(senderCreds, f.sender);
    const out = join(f.dir, '..', 'alice.sk.json');
    const period = periodOf(Date.now());
    const r = await keycast(
      'purchase',
      'subscription',
      '--credentials',
      creds,
      '--service',
      String(f.service.id),
      '--out',
      out,
      '--server-url',
      url,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      event: 'purchased',
      serviceId: 1,
      period,
      serviceKeyFile: out,
    });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const kept = await readServiceKeyFile(out);
    expect(kept).toMatchObject({ version: 1, clientId: f.receiver.clientId, serviceId: 1, period });
    const opened = openWrappedServiceKey(f.receiver, kept);
    const fetched = orThrow(
      await new KeyServerClient(f.receiver, { serverUrl: url }).requestServiceKey(1, period),
    );
    expect(opened.ok && opened.key).toEqual(fetched.serviceKey);
    expect(openWrappedServiceKey(f.sender, kept).ok).toBe(false);

    // An existing --out is kept unless --force; a refusal is the key server's; a bad period never leaves.
    const again = await keycast(
      'purchase',
      'subscription',
      '--credentials',
      creds,
      '--service',
      '1',
      '--out',
      out,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; use --force/);
    const refused = await keycast(
      'purchase',
      'subscription',
      '--credentials',
      senderCreds,
      '--service',
      '1',
      '--server-url',
      url,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/key server refused: forbidden_role/);
    const bad = await keycast(
      'purchase',
      'subscription',
      '--credentials',
      creds,
      '--service',
      '1',
      '--period',
      '2026-13',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/period must be YYYY-MM/);
  });
});
