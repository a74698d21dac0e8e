// Sessions through the real commands and processes: `keycast programme create --pricing session`, `keycast serve
// --rekey flat --keepalive-interval-ms ...`, members joining, keeping alive and leaving over HTTP, a key-server
// restart (members get not_member; the session left open is closed in the log by the restart rule, billed up to
// the last record of the previous run), and `keycast bill` with session lines beside the segment lines.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readCredentialsFile } from '../../src/keys/credentials.js';
import { KeyServerClient } from '../../src/server/client.js';
import { openDataDirStore } from '../../src/store/index.js';
import { randomGroup } from '../helpers/system.js';

const BIN = join(import.meta.dirname, '../../bin/keycast.js');
const run = promisify(execFile);
const keycast = async (...args: string[]) => (await run(process.execPath, [BIN, ...args])).stdout;
const json = (s: string) => JSON.parse(s.trim().split('\n')[0]!) as Record<string, unknown>;

const children: ChildProcess[] = [];
let tmp: string | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

async function serve(d: string[], extra: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--log-level', 'warn', ...extra, ...d],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(server);
  const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  const first = json(String((await lines.next()).value));
  expect(first).toMatchObject({ event: 'listening' });
  return {
    url: String(first.url),
    stop: async () => {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

describe('sessions through keycast serve', () => {
  it('programme create --pricing session, join/keep-alive/leave, restart closes open sessions, bill', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'keycast-session-cli-'));
    const data = join(tmp, 'data');
    const d = ['--data', data];
    await keycast('init', ...d);
    await keycast('service', 'create', '--name', 'live', ...d);
    const { group, port } = randomGroup();
    const p = json(
      await keycast(
        'programme',
        'create',
        '--service',
        '1',
        '--name',
        'match',
        '--group',
        group,
        '--port',
        String(port),
        '--pricing',
        'session',
        ...d,
      ),
    );
    expect(p).toMatchObject({ programmeId: 1, pricing: 'session' });
    const files = ['alice', 'bob'].map((n) => join(tmp!, `${n}.json`));
    for (const [i, f] of files.entries())
      await keycast('client', 'enrol', '--name', ['alice', 'bob'][i]!, '--out', f, ...d);

    const flags = ['--rekey', 'flat', '--keepalive-interval-ms', '500', '--ack-timeout-ms', '5000'];
    const first = await serve(d, flags);
    const [alice, bob] = await Promise.all(
      files.map(async (f) => new KeyServerClient(await readCredentialsFile(f), { serverUrl: first.url })),
    );
    const ja = await alice!.joinSession(1);
    const jb = await bob!.joinSession(1);
    expect(ja.ok && jb.ok).toBe(true);
    if (!ja.ok || !jb.ok) return;
    expect([jb.mode, jb.keepAliveIntervalMs, jb.expiryMs, jb.ackTimeoutMs]).toEqual([
      'flat',
      500,
      1500,
      5000,
    ]);
    expect(jb.rekey.length).toBeGreaterThan(0);
    expect((await alice!.ackGroupKey(1, jb.groupEpoch)).ok).toBe(true);
    expect((await bob!.ackGroupKey(1, jb.groupEpoch)).ok).toBe(true);
    expect((await bob!.keepAlive(1)).ok).toBe(true);
    expect((await alice!.leaveSession(1)).ok).toBe(true);
    const again = await alice!.keepAlive(1);
    expect(!again.ok && [again.code, again.removedBy]).toEqual(['revoked', 'leave']);
    await first.stop();

    // Restart: the member list is gone; bob is told so, and his open session is closed in the log.
    const second = await serve(d, flags);
    const bob2 = new KeyServerClient(await readCredentialsFile(files[1]!), { serverUrl: second.url });
    const ka = await bob2.keepAlive(1);
    expect(!ka.ok && [ka.code, ka.status]).toEqual(['not_member', 403]);
    expect((await bob2.joinSession(1)).ok).toBe(true);
    expect((await bob2.leaveSession(1)).ok).toBe(true);
    await second.stop();

    const store = openDataDirStore(data);
    const log = await store.transact((tx) => tx.log.range(1, 10_000));
    await store.close();
    const stops = log
      .filter((r) => r.event === 'billing_stop')
      .map((r) => [r.clientId, (JSON.parse(r.detail!) as { by: string }).by]);
    expect(stops).toEqual([
      [1, 'leave'],
      [2, 'restart'],
      [2, 'leave'],
    ]);
    const plan = join(tmp, 'plan.json');
    await writeFile(
      plan,
      JSON.stringify({ version: 1, currency: 'EUR', sessions: [{ programmeId: 1, minutePrice: 3 }] }),
    );
    const bill = JSON.parse(await keycast('bill', '--plan', plan, '--json', ...d)) as {
      lines: { client: number; item: string; quantity: number; amount: number }[];
    };
    expect(bill.lines).toEqual([
      { client: 1, item: 'session programme=1', quantity: 1, unitPrice: 3, amount: 3 },
      { client: 2, item: 'session programme=1', quantity: 2, unitPrice: 3, amount: 6 },
    ]);
  });
});
