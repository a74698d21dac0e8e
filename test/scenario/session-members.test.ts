// Session members on real sockets (issue 4, member side; claims 13-24): a real key server (SQLite, HTTP, group
// rekeys multicast on the key port), a real sender on the sample, real Receivers in session mode. In each rekey
// mode: two members stay and get the sample byte for byte across every rekey; one leaves mid-programme with the
// leave message (claim 16) and one goes silent (its keep-alives stop, claims 22-24) — both keep listening and
// trying as an attacker would, and decrypt nothing under a content key issued after their removal.
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/store/index.js';
import { readLog } from '../../src/cli/demo-util.js';
import { sampleSlice, sendMedia, startReceiver, startSystem, type TestSystem } from '../helpers/system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When the key server removed `clientId` (its leave or evict record), from the log. */
function removalAt(
  records: readonly LogRecord[],
  clientId: number,
  event: 'leave' | 'evict',
): number | undefined {
  return records.find((r) => r.clientId === clientId && r.event === event && r.outcome === 'delivered')
    ?.timeMs;
}

/** Packets a receiver decrypted under content keys whose key message was issued after `atMs`. */
function decryptedAfter(byKey: readonly { issuedAtMs: number; packets: number }[], atMs: number): number {
  return byKey.filter((k) => k.issuedAtMs > atMs).reduce((n, k) => n + k.packets, 0);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('session members on the sample, real key server and sender', () => {
  for (const mode of ['flat', 'lkh', 'batch'] as const) {
    it(`${mode}: stayers decrypt byte for byte across rekeys; a leaver and a silent member decrypt nothing issued after their removal`, async () => {
      const system: TestSystem = await startSystem({
        pricing: 'session',
        cryptoPeriodMs: 1000,
        segmentLengthMs: 8000,
        sessions: { rekey: mode, keepAliveIntervalMs: 200, memberExpiryMs: 700, batchIntervalMs: 200 },
      });
      try {
        const media = await sampleSlice(100_000); // the whole sample
        const sender = await system.enrol('sender', 'sender');
        const clients = await Promise.all(
          ['stay-1', 'stay-2', 'leaver', 'silent'].map((n) => system.enrol(n, 'receiver')),
        );
        const [stay1, stay2, leaver, silent] = await Promise.all(
          clients.map((c, i) =>
            startReceiver(system, c, 3000, { session: { keepListeningAfterRemoval: i >= 2 } }),
          ),
        );
        const members = [stay1!, stay2!, leaver!, silent!];
        // Every member holds a group key before the programme starts (batch: after the next flush).
        await waitFor('every member to hold a group key', () =>
          members.every((m) => m.receiver.session?.epoch !== undefined),
        );
        const epochAtStart = stay1!.receiver.session!.epoch!;

        const sending = sendMedia(system, sender, media, { speed: 4 });
        // The silent member stops its keep-alives early; the leaver leaves a little later.
        await waitFor('packets to flow', () => stay1!.receiver.stats.packetsDecrypted > 50);
        silent!.receiver.session!.stopKeepAlives();
        await waitFor('the leaver to decrypt some more', () => leaver!.receiver.stats.packetsDecrypted > 400);
        await leaver!.receiver.session!.leave();
        // The key server evicts the silent member after the expiry; resumed (like a SIGCONT), its keep-alive is
        // answered `revoked` and it keeps listening.
        const evicted = async () =>
          (await readLog(system.store)).some(
            (r) => r.clientId === silent!.receiver.session!.stats.memberId && r.event === 'evict',
          );
        for (let i = 0; i < 100 && !(await evicted()); i++) await sleep(50);
        silent!.receiver.session!.resumeKeepAlives();
        await waitFor('the silent member to learn its removal', () => silent!.receiver.session!.removed);
        await sending;
        await sleep(300);

        for (const m of members) await m.close();
        const records = await readLog(system.store);
        const ids = clients.map((c) => c.credentials.clientId);

        // The stayers: the whole sample, byte for byte, across every rekey (no gap).
        for (const m of [stay1!, stay2!]) {
          expect(Buffer.compare(m.output(), Buffer.from(media))).toBe(0);
          expect(m.receiver.stats.packetsRejected).toBe(0);
          expect(m.receiver.session!.stats.removedBy).toBeNull();
          expect(m.receiver.session!.stats.acks).toBeGreaterThanOrEqual(3);
          expect(m.receiver.session!.stats.keepAlives).toBeGreaterThan(0);
        }
        // At least two rekeys (the leave and the eviction) happened while the stayers kept decrypting.
        expect(stay1!.receiver.session!.stats.groupEpoch!).toBeGreaterThanOrEqual(epochAtStart + 2);

        // The leaver: removed by its leave; the key server's leave record is the removal time.
        const ls = leaver!.receiver.session!.stats;
        expect(ls.removedBy).toBe('leave');
        const leftAt = removalAt(records, ids[2]!, 'leave');
        expect(leftAt).toBeDefined();
        expect(ls.leftAt).toBe(leftAt);
        // The silent member: evicted by the key server (claim 24), told so when it spoke again.
        const ss = silent!.receiver.session!.stats;
        expect(ss.removedBy).toBe('keepalive');
        const evictedAt = removalAt(records, ids[3]!, 'evict');
        expect(evictedAt).toBeDefined();
        // The revoked answer names the removal time: the member's own leftAt is the key server's.
        expect(ss.leftAt).toBe(evictedAt);

        for (const [s, at] of [
          [ls, leftAt!],
          [ss, evictedAt!],
        ] as const) {
          // It decrypted before its removal, and the stayers decrypted plenty under keys issued after it...
          expect(s.decryptedByKey.reduce((n, k) => n + k.packets, 0)).toBeGreaterThan(0);
          expect(decryptedAfter(stay1!.receiver.session!.stats.decryptedByKey, at)).toBeGreaterThan(200);
          // ...but it, listening and trying all along, decrypted nothing issued after its removal.
          expect(decryptedAfter(s.decryptedByKey, at)).toBe(0);
          expect(s.packetsDecryptedAfterRemoval).toBe(0);
        }
        // Both kept receiving after removal.
        expect(leaver!.receiver.stats.packetsReceived).toBeGreaterThan(
          0.9 * stay1!.receiver.stats.packetsReceived,
        );
        expect(silent!.receiver.stats.packetsReceived).toBeGreaterThan(
          leaver!.receiver.stats.packetsDecrypted,
        );
      } finally {
        await system.close();
      }
    }, 60_000);
  }
});

describe('a key-server restart', () => {
  it('members told not_member join again (a new session) instead of counting themselves removed; epochs go on', async () => {
    const system = await startSystem({
      pricing: 'session',
      sessions: { rekey: 'lkh', keepAliveIntervalMs: 200, memberExpiryMs: 700 },
    });
    const { buildKeyServer } = await import('../../src/server/app.js');
    let restarted: Awaited<ReturnType<typeof buildKeyServer>> | undefined;
    try {
      const viewer = await system.enrol('viewer', 'receiver');
      const rx = await startReceiver(system, viewer, 3000, { session: {} });
      await waitFor('a group key', () => rx.receiver.session?.epoch !== undefined);
      const epochBefore = rx.receiver.session!.epoch!;
      // The key server stops and a new one starts on the same port and data: its member list is empty.
      const port = Number(new URL(system.url).port);
      await system.server.close();
      restarted = buildKeyServer({
        store: system.store,
        dataDir: system.dataDir,
        sessions: { rekey: 'lkh', keepAliveIntervalMs: 200, memberExpiryMs: 700 },
      });
      await restarted.listen({ host: '127.0.0.1', port });
      const session = rx.receiver.session!;
      await waitFor(
        'the member to join again',
        () => session.stats.rejoins === 1 && session.epoch !== undefined,
      );
      expect(session.stats.removedBy).toBeNull();
      // The new run's group goes on from the previous run's epochs: no (node, version) names two keys.
      expect(session.epoch!).toBeGreaterThan(epochBefore);
      expect(session.removed).toBe(false);
      const records = await readLog(system.store);
      const joins = records.filter(
        (r) => r.event === 'join' && r.outcome === 'delivered' && r.clientId === viewer.credentials.clientId,
      );
      expect(joins).toHaveLength(2);
      await rx.close();
    } finally {
      await restarted?.close();
      await system.close().catch(() => undefined);
    }
  }, 30_000);

  it('a member watching through a restart loses nothing: the sender waits (members_rejoining) until it is back', async () => {
    // Keep-alives every 3 s, and the restart right after one: the member learns it must join again at its next
    // keep-alive, seconds after the sender has asked for its next content key. Issued to the new run's empty group,
    // that key would be lost to the member; members_rejoining makes the sender wait for it.
    const sessions = { rekey: 'lkh' as const, keepAliveIntervalMs: 3000, memberExpiryMs: 9000 };
    const system = await startSystem({
      pricing: 'session',
      cryptoPeriodMs: 500,
      segmentLengthMs: 20_000,
      sessions,
    });
    const { buildKeyServer } = await import('../../src/server/app.js');
    let restarted: Awaited<ReturnType<typeof buildKeyServer>> | undefined;
    try {
      const sender = await system.enrol('encoder', 'sender');
      const viewer = await system.enrol('viewer', 'receiver');
      const rx = await startReceiver(system, viewer, 5000, { session: {} });
      await waitFor('a group key', () => rx.receiver.session?.epoch !== undefined);
      const session = rx.receiver.session!;
      const media = await sampleSlice(1000); // ≈ 11 s of media, 5.5 s at speed 2: a content key every 0.25 s
      const port = Number(new URL(system.url).port);
      const restart = (async () => {
        await sleep(500);
        const k0 = session.stats.keepAlives;
        await waitFor('a keep-alive', () => session.stats.keepAlives > k0);
        await system.server.close();
        await sleep(300);
        restarted = buildKeyServer({ store: system.store, dataDir: system.dataDir, sessions });
        await restarted.listen({ host: '127.0.0.1', port });
      })();
      const { progress } = await sendMedia(system, sender, media, { speed: 2 });
      await restart;
      await sleep(500);
      await rx.close();
      expect(progress.packetsSent).toBe(1000);
      expect(session.stats.rejoins).toBe(1);
      expect(rx.output().equals(Buffer.from(media))).toBe(true);
      expect(rx.receiver.stats.packetsRejected).toBe(0);
      const records = await readLog(system.store);
      expect(records.some((r) => r.outcome === 'denied' && r.code === 'members_rejoining')).toBe(true);
    } finally {
      await restarted?.close();
      await system.close().catch(() => undefined);
    }
  }, 30_000);
});
