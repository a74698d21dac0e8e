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

  it('sends the sample encrypted; each receiver gets exactly the part it is entitled to, byte for byte; the bill follows the log (rekey lkh)', async () => {
    const s = await demo('lkh');
    expect(s.profile).toBe('AES_CM_128_HMAC_SHA1_80'); // the default, for reach
    expectSession(s, 'lkh');
    expect(s.checks.every((c) => c.ok)).toBe(true);
    expect(s.keysRotated).toBeGreaterThanOrEqual(10);

    // The sender's own account of the segments: at least two boundaries crossed, contiguous, covering the input.
    const ranges = s.sender.segmentRanges;
    expect(ranges.length).toBeGreaterThanOrEqual(3);
    expect(s.sender.segments).toBe(ranges.length);
    expect(ranges.map((x) => x.segment)).toEqual(ranges.map((_, i) => i));
    expect(ranges[0]!.tsByteStart).toBe(0);
    expect(ranges[0]!.firstIndex).toBe(s.sender.initialSeq);
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i]!.tsByteStart).toBe(ranges[i - 1]!.tsByteEnd);
      expect(ranges[i]!.firstIndex).toBe(ranges[i - 1]!.lastIndex + 1);
    }
    expect(ranges.at(-1)!.tsByteEnd).toBe(s.input.bytes);
    expect(ranges.reduce((n, x) => n + x.packets, 0)).toBe(s.sender.packetsSent);
    // The sequence number wraps early in the programme.
    expect(s.sender.initialSeq + s.sender.wrapAfterPackets).toBe(0x10000);
    expect(s.sender.wrapAfterPackets).toBeLessThan(s.sender.packetsSent / 2);

    const byName = new Map(s.receivers.map((x) => [x.name, x]));
    expect([...byName.keys()]).toEqual([
      'subscriber',
      'pay-per-segment',
      'segment-0-only',
      'late-joiner',
      'no-entitlement',
      ...SESSION_MEMBERS,
    ]);
    for (const x of s.receivers.filter((r) => r.entitlement !== 'session')) {
      expect(x.removedBy).toBeNull();
      expect(x.packetsDecryptedAfterRemoval).toBeNull();
      expect(x.billedSeconds).toBeNull();
    }
    const all = ranges.map((x) => x.segment);
    for (const name of ['subscriber', 'pay-per-segment']) {
      const x = byName.get(name)!;
      expect(x.entitled).toBe(true);
      expect(x.segmentsEntitled).toEqual(all);
      expect(x.identical).toBe(true);
      expect(x.outputSha256).toBe(s.input.sha256);
      expect(x.expected).toEqual({ fromByte: 0, toByte: s.input.bytes, bytes: s.input.bytes });
      expect(x.packetsDecrypted).toBe(s.sender.packetsSent);
      expect(x.packetsRejected).toBe(0);
      expect(x.firstDecryptedIndex).toBe(s.sender.initialSeq);
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

    // Bought segment 0 only: everything up to the last TS byte of segment 0, nothing after; later segments refused
    // once each.
    const seg0 = byName.get('segment-0-only')!;
    expect(seg0.segmentsEntitled).toEqual([0]);
    expect(seg0.identical).toBe(true);
    expect(seg0.expected).toEqual({ fromByte: 0, toByte: ranges[0]!.tsByteEnd, bytes: ranges[0]!.tsByteEnd });
    expect(seg0.outputBytes).toBe(ranges[0]!.tsByteEnd);
    expect(seg0.packetsDecrypted).toBe(ranges[0]!.packets);
    expect(seg0.packetsRejected).toBe(s.sender.packetsSent - ranges[0]!.packets);
    expect(seg0.refusals).toEqual(all.slice(1).map((segment) => ({ segment, code: 'not_entitled' })));
    expect(seg0.keyRequests).toBe(s.sender.segments + 1);

    // Joined after the wrap: its first packet has ROC 1, and from there on its output is the input's suffix.
    const late = byName.get('late-joiner')!;
    expect(late.segmentsEntitled).toEqual(all);
    expect(late.joinedAfterSenderPackets).toBeGreaterThanOrEqual(s.sender.wrapAfterPackets);
    expect(late.firstDecryptedIndex).toBeGreaterThanOrEqual(0x10000);
    expect(late.firstDecryptedRoc).toBe(1);
    expect(late.identical).toBe(true);
    expect(late.expected.toByte).toBe(s.input.bytes);
    expect(late.expected.fromByte).toBeGreaterThan(0);
    expect(late.outputBytes).toBe(s.input.bytes - late.expected.fromByte!);
    // Every packet from its first to the last, none missing.
    const lastIndex = ranges.at(-1)!.lastIndex;
    expect(late.packetsDecrypted).toBe(lastIndex - late.firstDecryptedIndex! + 1);
    // It asks only for the segments it is there for, never for those that ended before it joined.
    const lateFirstSegment = ranges.find((x) => x.lastIndex >= late.firstDecryptedIndex!)!.segment;
    const joinedInSegment = ranges.find(
      (x) => x.lastIndex >= s.sender.initialSeq + late.joinedAfterSenderPackets!,
    )!.segment;
    expect(late.segmentKeyRequests).toBeGreaterThanOrEqual(s.sender.segments - lateFirstSegment);
    expect(late.segmentKeyRequests).toBeLessThanOrEqual(s.sender.segments - joinedInSegment);
    expect(late.refusals).toEqual([]);

    const none = byName.get('no-entitlement')!;
    expect(none.entitled).toBe(false);
    expect(none.segmentsEntitled).toEqual([]);
    expect(none.identical).toBe(false);
    expect(none.firstDecryptedIndex).toBeNull();
    expect(none.packetsDecrypted).toBe(0);
    expect(none.packetsRejected).toBe(s.sender.packetsSent);
    expect(none.refusals.map((x) => x.code)).toContain('not_entitled');
    // One request per segment, each refused once: no retry loop (it might have bought a later segment).
    expect(none.segmentKeyRequests).toBe(s.sender.segments);
    expect(none.refusals).toHaveLength(s.sender.segments);
    expect(none.keyRequests).toBe(s.sender.segments + 1);

    // The demo's own checks name each claim it shows; none is missing.
    const names = s.checks.map((c) => c.name).join('\n');
    expect(names).toMatch(/segment-0-only: output ends exactly at the segment 0\/1 boundary/);
    expect(names).toMatch(/late-joiner: joined after the sequence number wrapped/);
    expect(names).toMatch(/crossed at least two segment boundaries/);
    expect(names).toMatch(/subscriber: .* 0 key requests after its purchase/);

    // The bill: the subscriber pays one period, the buyers one line each with one unit per segment whose key they
    // got.
    const lines = s.billing.lines;
    const quantities = (x: { clientId: number }) =>
      lines.filter((l) => l.client === x.clientId).map((l) => l.quantity);
    expect(quantities(subscriber)).toEqual([1]);
    expect(quantities(buyer)).toEqual([s.sender.segments]);
    expect(quantities(seg0)).toEqual([1]);
    expect(quantities(late)).toEqual([late.segmentKeyRequests]);
    expect(lines.some((l) => l.client === none.clientId)).toBe(false);
    for (const name of SESSION_MEMBERS) {
      const x = byName.get(name)!;
      expect(lines.filter((l) => l.client === x.clientId).map((l) => l.item)).toEqual([
        `session programme=${s.session.programmeId}`,
      ]);
    }
    for (const l of lines) {
      expect(l).toHaveProperty('client');
      expect(l).toHaveProperty('item');
      expect(l).toHaveProperty('quantity');
      expect(l).toHaveProperty('amount');
    }
    expect(s.log.chainIntact).toBe(true);
  }, 90_000);

  // The batch run also runs every programme with the recommended suite, AEAD_AES_128_GCM (`demo --profile`).
  for (const [mode, profile] of [
    ['flat', 'AES_CM_128_HMAC_SHA1_80'],
    ['batch', 'AEAD_AES_128_GCM'],
  ] as const) {
    it(`passes with session rekey ${mode} and SRTP ${profile}: stayers byte for byte, the leaver and the evicted member decrypt nothing issued after their removal`, async () => {
      const s = await demo(mode, profile === 'AES_CM_128_HMAC_SHA1_80' ? undefined : profile);
      expect(s.profile).toBe(profile);
      expectSession(s, mode);
    }, 90_000);
  }
});

const SESSION_MEMBERS = ['session-stay-1', 'session-stay-2', 'session-leaver', 'session-silent'];

async function demo(mode: 'flat' | 'lkh' | 'batch', profile?: string): Promise<DemoSummary> {
  // Twice real time: fast enough for the suite, slow enough that a busy CI host (other test files run beside this
  // one) does not make keys late.
  const withProfile = profile === undefined ? [] : ['--profile', profile];
  const r = await run(['demo', '--json', '--speed', '2', '--rekey', mode, ...withProfile]);
  const failed = (() => {
    try {
      return (JSON.parse(r.stdout) as DemoSummary).checks.filter((c) => !c.ok).map((c) => c.name);
    } catch {
      return [];
    }
  })();
  expect(r.code, `failed checks: ${failed.join('; ')}\n${r.stderr.slice(-3000)}`).toBe(0);
  const s = JSON.parse(r.stdout) as DemoSummary;
  expect(s.checks.filter((c) => !c.ok)).toEqual([]);
  expect(s.ok).toBe(true);
  return s;
}

/** Issue 4 point 7: four session members of the per-minute programme, two removals, and the attacker's count. */
function expectSession(s: DemoSummary, mode: string): void {
  expect(s.session.mode).toBe(mode);
  expect(s.session.packetsSent).toBe(s.sender.packetsSent);
  // At least the joins' rekey and one per removal.
  expect(s.session.groupRekeys).toBeGreaterThanOrEqual(3);
  const m = new Map(s.receivers.filter((r) => r.entitlement === 'session').map((r) => [r.name, r]));
  expect([...m.keys()]).toEqual(SESSION_MEMBERS);
  for (const name of ['session-stay-1', 'session-stay-2']) {
    const x = m.get(name)!;
    expect(x.identical).toBe(true);
    expect(x.outputSha256).toBe(s.input.sha256);
    expect(x.packetsDecrypted).toBe(s.session.packetsSent);
    expect(x.packetsRejected).toBe(0);
    expect(x.removedBy).toBeNull();
    expect(x.leftAt).toBeNull();
    expect(x.packetsDecryptedAfterRemoval).toBe(0);
    expect(x.acks).toBeGreaterThanOrEqual(3);
    expect(x.keepAlives).toBeGreaterThan(0);
  }
  const leaver = m.get('session-leaver')!;
  const silent = m.get('session-silent')!;
  expect(leaver.removedBy).toBe('leave');
  expect(silent.removedBy).toBe('keepalive');
  // Evicted once silent for longer than the expiry, counted from its last keep-alive before the suspension.
  expect(s.session.silentSuspendedForMs).toBeGreaterThanOrEqual(
    s.session.memberExpiryMs - s.session.keepAliveIntervalMs,
  );
  for (const x of [leaver, silent]) {
    expect(x.leftAt).not.toBeNull();
    expect(x.packetsDecrypted).toBeGreaterThan(0);
    expect(x.packetsDecrypted).toBeLessThan(s.session.packetsSent);
    // It kept listening after its removal, and decrypted nothing under a key issued after it.
    expect(x.packetsReceived).toBeGreaterThan(x.packetsDecrypted);
    expect(x.packetsDecryptedAfterRemoval).toBe(0);
  }
  // The leaver's output is the input up to where it stopped; it is billed for less time than the stayers.
  expect(leaver.identical).toBe(true);
  const billed = (name: string) => m.get(name)!.billedSeconds!;
  expect(billed('session-leaver')).toBeGreaterThan(0);
  expect(billed('session-leaver')).toBeLessThan(Math.min(billed('session-stay-1'), billed('session-stay-2')));
  expect(billed('session-silent')).toBeGreaterThan(0);
}
