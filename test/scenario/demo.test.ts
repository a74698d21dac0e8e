// The end-to-end scenario as an operator runs it: `keycast demo --json`, every part a real process on
// loopback multicast, real media. Needs `npm run build` first (npm test does it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/cli/demo.js';

const BIN = fileURLToPath(new URL('../../bin/keycast.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('keycast demo', () => {
  it('is built (npm test runs the build first)', () => {
    expect(existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))).toBe(true);
  });

  it('sends the sample encrypted; entitled receivers get it byte for byte, the other nothing; the bill follows the log', async () => {
    const r = await run(['demo', '--json', '--speed', '6']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as DemoSummary;
    expect(s.ok).toBe(true);
    expect(s.checks.every((c) => c.ok)).toBe(true);
    expect(s.keysRotated).toBeGreaterThanOrEqual(10);

    const byName = new Map(s.receivers.map((x) => [x.name, x]));
    for (const name of ['subscriber', 'pay-per-segment']) {
      const x = byName.get(name)!;
      expect(x.entitled).toBe(true);
      expect(x.identical).toBe(true);
      expect(x.outputSha256).toBe(s.input.sha256);
      expect(x.packetsDecrypted).toBe(s.sender.packetsSent);
      expect(x.packetsRejected).toBe(0);
    }
    // Claim 9: the subscriber bought its subscription through the API and kept the service key; every segment key
    // came by multicast under it, and it made no key request at all, however many segments.
    const subscriber = byName.get('subscriber')!;
    expect(subscriber.keyRequests).toBe(0);
    expect(subscriber.segmentKeyRequests).toBe(0);
    expect(subscriber.segmentKeysFromMulticast).toBe(s.sender.segments);
    // Claim 2: the buyer asks only for keys it needs — one request per segment, never one per packet (plus the one
    // service-key request at start that tells it it is not a subscriber).
    const buyer = byName.get('pay-per-segment')!;
    expect(buyer.segmentKeyRequests).toBe(s.sender.segments);
    expect(buyer.keyRequests).toBe(s.sender.segments + 1);
    expect(buyer.segmentKeysFromMulticast).toBe(0);
    const none = byName.get('no-entitlement')!;
    expect(none.entitled).toBe(false);
    expect(none.identical).toBe(false);
    expect(none.packetsDecrypted).toBe(0);
    expect(none.packetsRejected).toBe(s.sender.packetsSent);
    expect(none.refusals.map((x) => x.code)).toContain('not_entitled');
    // One request per segment, each refused once: no retry loop (it might have bought a later segment).
    expect(none.segmentKeyRequests).toBe(s.sender.segments);
    expect(none.refusals).toHaveLength(s.sender.segments);
    expect(none.keyRequests).toBe(s.sender.segments + 1);

    // The bill: the subscriber pays one period, the buyer one line with one unit per segment.
    const lines = s.billing.lines;
    const sub = lines.filter((l) => l.client === byName.get('subscriber')!.clientId);
    const ppv = lines.filter((l) => l.client === byName.get('pay-per-segment')!.clientId);
    expect(sub.map((l) => l.quantity)).toEqual([1]);
    expect(ppv.map((l) => l.quantity)).toEqual([s.sender.segments]);
    expect(lines.some((l) => l.client === none.clientId)).toBe(false);
    for (const l of lines) {
      expect(l).toHaveProperty('client');
      expect(l).toHaveProperty('item');
      expect(l).toHaveProperty('quantity');
      expect(l).toHaveProperty('amount');
    }
    expect(s.log.chainIntact).toBe(true);
  });
});
