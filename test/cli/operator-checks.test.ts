// The operator CLI's checks, as real processes (dist/, built by `npm test`): output files are checked before
// anything is enrolled or logged, overlapping programmes and grants to senders are refused, list commands, option
// validation, and the warning for a credentials file others can read.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkOutputFile, durationText } from '../../src/cli/operator-util.js';

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

const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let tmp: string;
let d: string[];
const logRecords = async () =>
  Number((lines((await keycast('log', 'verify', ...d)).stdout)[0] ?? {}).records);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'keycast-cli-checks-'));
  d = ['--data', join(tmp, 'data')];
  expect((await keycast('init', ...d)).code).toBe(0);
  expect((await keycast('service', 'create', '--name', 'news', ...d)).code).toBe(0);
  const p = ['programme', 'create', '--service', '1', '--name', 'eve', '--group', '239.255.0.1'];
  expect((await keycast(...p, '--port', '5004', ...d)).code).toBe(0);
});

describe('client enrol', () => {
  it('refuses an existing --out file unless --force, and an unwritable one, before enrolling', async () => {
    const existing = join(tmp, 'taken.json');
    await writeFile(existing, 'another client');
    const taken = await keycast('client', 'enrol', '--name', 'a', '--out', existing, ...d);
    expect([taken.code, taken.stderr]).toEqual([
      1,
      `keycast: ${existing} already exists; use --force to replace it\n`,
    ]);
    expect(await readFile(existing, 'utf8')).toBe('another client');
    const nowhere = await keycast('client', 'enrol', '--name', 'a', '--out', '/nonexistent/dir/x.json', ...d);
    expect([nowhere.code, nowhere.stderr]).toEqual([
      1,
      'keycast: cannot write /nonexistent/dir/x.json: directory /nonexistent/dir does not exist\n',
    ]);
    // Nothing was enrolled or logged.
    expect((await keycast('client', 'list', ...d)).stdout).toBe('');
    expect(await logRecords()).toBe(0);

    const forced = await keycast('client', 'enrol', '--name', 'a', '--out', existing, '--force', ...d);
    expect(lines(forced.stdout)).toEqual([expect.objectContaining({ event: 'enrolled', clientId: 1 })]);
    expect(JSON.parse(await readFile(existing, 'utf8'))).toMatchObject({ clientId: 1 });
  });
});

describe('list commands', () => {
  it('list clients (never their keys), services and programmes as JSON lines', async () => {
    await keycast('client', 'enrol', '--name', 'tx', '--role', 'sender', '--out', join(tmp, 'tx.json'), ...d);
    const clients = lines((await keycast('client', 'list', ...d)).stdout);
    expect(clients.map((c) => [c.clientId, c.name, c.role])).toEqual([
      [1, 'a', 'receiver'],
      [2, 'tx', 'sender'],
    ]);
    expect(JSON.stringify(clients)).not.toMatch(/key/i);
    expect(lines((await keycast('service', 'list', ...d)).stdout)).toEqual([
      { serviceId: 1, name: 'news', createdAtMs: expect.any(Number) },
    ]);
    const programmes = lines((await keycast('programme', 'list', ...d)).stdout);
    expect(programmes).toEqual([
      expect.objectContaining({
        programmeId: 1,
        serviceId: 1,
        name: 'eve',
        group: '239.255.0.1',
        port: 5004,
        keyPort: 5006,
        segmentLengthMs: 300_000,
        cryptoPeriodMs: 10_000,
      }),
    ]);
    expect((await keycast('programme', 'list', '--service', '2', ...d)).stdout).toBe('');
  });
});

describe('programme create', () => {
  it('refuses a group and port another programme uses, unless --allow-shared-group', async () => {
    const p = ['programme', 'create', '--service', '1', '--name', 'late', '--group', '239.255.0.1'];
    const clash = await keycast(...p, '--port', '5006', ...d);
    expect([clash.code, clash.stderr]).toEqual([
      1,
      expect.stringContaining(
        '239.255.0.1 port 5006 is already used by programme 1 (eve: media 5004, SRTCP 5005, keys 5006)',
      ),
    ]);
    const shared = await keycast(...p, '--port', '5004', '--allow-shared-group', ...d);
    expect(lines(shared.stdout)).toEqual([expect.objectContaining({ programmeId: 2, port: 5004 })]);
  });

  it('shows duration defaults as durations in --help', async () => {
    const help = (await keycast('programme', 'create', '--help')).stdout;
    expect(help).toMatch(/--segment-length <duration>\s+programme segment length \(default: 300s\)/);
    expect(help).toMatch(/--crypto-period <duration>\s+content key lifetime \(default: 10s\)/);
    expect(help).not.toMatch(/300000|10000/);
  });
});

describe('grants', () => {
  it('refuses grants to a sender', async () => {
    const sub = await keycast(
      'grant',
      'subscription',
      '--client',
      '2',
      '--service',
      '1',
      '--period',
      '2026-12',
      ...d,
    );
    expect([sub.code, sub.stderr]).toEqual([
      1,
      'keycast: client 2 (tx) is a sender; entitlements are granted to receivers only\n',
    ]);
    expect((await keycast('grant', 'segments', '--client', '2', '--programme', '1', ...d)).code).toBe(1);
    expect(await logRecords()).toBe(2); // the two enrolments
  });
});

describe('keys export', () => {
  it('refuses an output it cannot write before logging the export', async () => {
    const before = await logRecords();
    const r = await keycast('keys', 'export', '--programme', '1', '--out', '/nonexistent/k.json', ...d);
    expect([r.code, r.stderr]).toEqual([
      1,
      'keycast: cannot write /nonexistent/k.json: directory /nonexistent does not exist\n',
    ]);
    expect(await logRecords()).toBe(before);
    const ok = await keycast('keys', 'export', '--programme', '1', '--out', join(tmp, 'k.json'), ...d);
    expect(lines(ok.stdout)).toEqual([expect.objectContaining({ event: 'keys_exported' })]);
    expect(await logRecords()).toBe(before + 1);
  });
});

describe('options and credentials', () => {
  it('validates --log-level against the pino levels', async () => {
    const r = await keycast('serve', '--log-level', 'bogus', ...d);
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringContaining(
        "argument 'bogus' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent",
      ),
    ]);
  });

  it("refuses to receive with a sender's credentials, before asking the key server anything", async () => {
    const file = join(tmp, 'tx.json'); // enrolled as a sender above
    const r = await keycast(
      'receive',
      '--credentials',
      file,
      '--programme',
      '1',
      '--server-url',
      'http://127.0.0.1:1',
    );
    expect([r.code, r.stderr]).toEqual([
      1,
      `keycast: ${file} is for a sender; this command needs a receiver's credentials\n`,
    ]);
  });

  it('warns on stderr when a credentials file is open to others, and still uses it', async () => {
    const file = join(tmp, 'open.json');
    await keycast('client', 'enrol', '--name', 'open', '--out', file, ...d);
    await chmod(file, 0o644);
    // Nothing listens on port 1: the request fails, after the warning.
    const r = await keycast(
      'request-key',
      '--credentials',
      file,
      '--programme',
      '1',
      '--segment',
      '0',
      '--server-url',
      'http://127.0.0.1:1',
    );
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([
      `keycast: warning: ${file} (mode 0644) is open to group/others and holds a client key; run chmod 600 ${file}`,
    ]);
    expect(lines(r.stdout)).toEqual([
      expect.objectContaining({ ok: false, code: 'network_error', serverUrl: 'http://127.0.0.1:1' }),
    ]);
  }, 20_000);
});

describe('operator helpers', () => {
  it('write durations as the options take them', () => {
    expect([300_000, 10_000, 250, 1500, 0].map(durationText)).toEqual([
      '300s',
      '10s',
      '250ms',
      '1500ms',
      '0ms',
    ]);
  });

  it('check an output file: directory exists, not a directory, existing only with overwrite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keycast-out-'));
    await expect(checkOutputFile(join(dir, 'new.json'), { overwrite: false })).resolves.toBeUndefined();
    await writeFile(join(dir, 'old.json'), '');
    await expect(checkOutputFile(join(dir, 'old.json'), { overwrite: false })).rejects.toThrow(
      /already exists$/,
    );
    await expect(checkOutputFile(join(dir, 'old.json'), { overwrite: true })).resolves.toBeUndefined();
    await expect(checkOutputFile(dir, { overwrite: true })).rejects.toThrow(/is a directory/);
    await expect(checkOutputFile(join(dir, 'old.json', 'x'), { overwrite: true })).rejects.toThrow(
      /old\.json is not a directory/,
    );
  });
});
