// The operator CLI end to end, as real processes (dist/, built by `npm test`): init, enrol, service, programme,
// grants, serve on port 0 (reading the listening line), request-key, SIGTERM, log verify, bill, keys export.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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

const json = (s: string) => JSON.parse(s.trim().split('\n')[0]!) as Record<string, unknown>;

describe('keycast operator commands', () => {
  it('set up, serve, request a key, stop, verify, bill, export', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'keycast-cli-'));
    const data = join(tmp, 'data');
    const d = ['--data', data];
    expect(json((await keycast('init', ...d)).stdout)).toMatchObject({ event: 'initialised' });
    expect((await keycast('init', ...d)).code).toBe(1); // never overwrites keys
    expect(json((await keycast('service', 'create', '--name', 'news', ...d)).stdout)).toMatchObject({
      serviceId: 1,
    });
    const p = json(
      (
        await keycast(
          'programme',
          'create',
          '--service',
          '1',
          '--name',
          'eve',
          '--group',
          '239.255.0.1',
          '--port',
          '5004',
          '--segment-length',
          '60s',
          '--crypto-period',
          '10s',
          ...d,
        )
      ).stdout,
    );
    expect(p).toMatchObject({
      programmeId: 1,
      keyPort: 5006,
      segmentLengthMs: 60_000,
      cryptoPeriodMs: 10_000,
      mkiLengthBytes: 4,
    });
    const bad = await keycast(
      'programme',
      'create',
      '--service',
      '1',
      '--name',
      'x',
      '--group',
      '10.1.1.1',
      '--port',
      '5004',
      ...d,
    );
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('not a multicast address')]);

    const alice = join(tmp, 'alice.json');
    expect(
      json((await keycast('client', 'enrol', '--name', 'alice', '--out', alice, ...d)).stdout),
    ).toMatchObject({ clientId: 1, role: 'receiver' });
    expect((await stat(alice)).mode & 0o777).toBe(0o600);
    const period = new Date().toISOString().slice(0, 7);
    expect(
      (await keycast('grant', 'subscription', '--client', '1', '--service', '1', '--period', period, ...d))
        .code,
    ).toBe(0);
    expect(
      (
        await keycast(
          'grant',
          'segments',
          '--client',
          '1',
          '--programme',
          '1',
          '--from',
          '0',
          '--to',
          '9',
          ...d,
        )
      ).code,
    ).toBe(0);

    const server = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...d], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: server.stdout });
    const it = lines[Symbol.asyncIterator]();
    const first = json(String((await it.next()).value));
    expect(first).toMatchObject({
      event: 'listening',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    const url = String(first.url);

    const got = await keycast(
      'request-key',
      '--credentials',
      alice,
      '--programme',
      '1',
      '--segment',
      '0',
      '--server-url',
      url,
    );
    const answer = json(got.stdout);
    expect(answer).toMatchObject({ ok: true, programmeId: 1, segment: 0, keyLengthBytes: 32 });
    expect(got.stdout).not.toMatch(/wrappedKey|segmentKey/);
    const refused = await keycast(
      'request-key',
      '--credentials',
      alice,
      '--programme',
      '1',
      '--segment',
      '3',
      '--server-url',
      url,
    );
    expect([refused.code, json(refused.stdout)]).toEqual([
      1,
      expect.objectContaining({ ok: false, code: 'not_yet' }),
    ]);

    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(json(String((await it.next()).value))).toMatchObject({ event: 'stopped', signal: 'SIGTERM' });
    expect(await exited).toBe(0);

    const verified = json((await keycast('log', 'verify', ...d)).stdout);
    expect(verified).toMatchObject({ ok: true, records: 5 }); // enrol, 2 grants, delivered, denied;
    const cp = `${String(verified.headSeq)}:${String(verified.headHash)}`;
    expect(json((await keycast('log', 'verify', '--checkpoint', cp, ...d)).stdout)).toMatchObject({
      ok: true,
    });
    const beyond = await keycast('log', 'verify', '--checkpoint', `9:${String(verified.headHash)}`, ...d);
    expect([beyond.code, json(beyond.stdout)]).toMatchObject([1, { ok: false, reason: 'truncated' }]);
    const upper = `${String(verified.headSeq)}:${String(verified.headHash).toUpperCase()}`;
    expect(json((await keycast('log', 'verify', '--checkpoint', upper, ...d)).stdout)).toMatchObject({
      ok: true,
    });
    const huge = await keycast(
      'log',
      'verify',
      '--checkpoint',
      `9007199254740993:${String(verified.headHash)}`,
      ...d,
    );
    expect(huge.code).toBe(1);
    const badCp = await keycast('log', 'verify', '--checkpoint', 'nine', ...d);
    expect([badCp.code, badCp.stderr.trim()]).toEqual([
      1,
      'keycast: --checkpoint must be SEQ:HASH (a record number and 64 hex digits), got nine',
    ]);
    const bill = JSON.parse((await keycast('bill', '--plan', 'samples/rate-plan.json', ...d)).stdout) as {
      lines: unknown[];
    };
    expect(bill.lines).toEqual([
      {
        client: 1,
        item: `subscription service=1 period=${period}`,
        quantity: 1,
        unitPrice: 1500,
        amount: 1500,
      },
    ]);
    expect((await keycast('bill', '--csv', '--plan', 'samples/rate-plan.json', ...d)).stdout).toContain(
      '1,TOTAL,,,1500,EUR',
    );

    const out = join(tmp, 'keys.json');
    expect(
      json((await keycast('keys', 'export', '--programme', '1', '--out', out, ...d)).stdout),
    ).toMatchObject({ keys: 0 });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ version: 1, programmeId: 1, keys: [] });
  });

  it('programme create takes every implemented SRTP profile with --profile, and refuses others', async () => {
    const data = join(await mkdtemp(join(tmpdir(), 'keycast-profiles-')), 'data');
    const d = ['--data', data];
    expect((await keycast('init', ...d)).code).toBe(0);
    expect((await keycast('service', 'create', '--name', 'news', ...d)).code).toBe(0);
    const create = (n: number, profile: string) =>
      keycast(
        'programme',
        'create',
        '--service',
        '1',
        '--name',
        `p${n}`,
        '--group',
        `239.255.0.${n}`,
        '--port',
        '5004',
        '--profile',
        profile,
        ...d,
      );
    const profiles = ['AES_256_CM_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'];
    for (const [i, profile] of profiles.entries()) {
      expect(json((await create(i + 1, profile)).stdout)).toMatchObject({ programmeId: i + 1, profile });
    }
    const bad = await create(9, 'AES_192_CM_HMAC_SHA1_80');
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('unknown SRTP profile')]);
  });

  it('serve refuses a multicast interface that is not an address of this host, before starting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-serve-'));
    for (const [iface, words] of [
      ['10.99.99.99', 'is not usable on this host'],
      ['bogus', 'is not an IPv4 address'],
    ] as const) {
      const r = await keycast(
        'serve',
        '--data',
        join(dir, 'data'),
        '--port',
        '0',
        '--multicast-interface',
        iface,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`multicast interface ${iface} ${words}`);
    }
  });
});
