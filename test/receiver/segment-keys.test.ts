// The receiver asks for a segment key only when it needs one (claim 2): once per segment, never per packet,
// bounded backoff on errors, and no retry after a refusal.
import { describe, expect, it } from 'vitest';
import { MAX_ERROR_TRIES, SegmentKeys, type SegmentKeyResult } from '../../src/receiver/segment-keys.js';
import { quietLog } from '../helpers/system.js';

function harness(
  answers: (segment: number, attempt: number) => SegmentKeyResult | Promise<SegmentKeyResult>,
) {
  const calls: number[] = [];
  const refusals: [number, string][] = [];
  const keys: number[] = [];
  let settle!: () => void;
  let settled = new Promise<void>((r) => (settle = r));
  const sk = new SegmentKeys(
    async (segment) => {
      calls.push(segment);
      return answers(segment, calls.filter((s) => s === segment).length);
    },
    quietLog,
    {
      onRequest: () => undefined,
      onRefusal: (s, c) => {
        refusals.push([s, c]);
        settle();
      },
      onKey: (s) => {
        keys.push(s);
        settle();
      },
    },
  );
  return {
    sk,
    calls,
    refusals,
    keys,
    next: async () => {
      await settled;
      settled = new Promise<void>((r) => (settle = r));
    },
  };
}

const KEY = new Uint8Array(32).fill(7);

describe('SegmentKeys', () => {
  it('makes one request per segment however many packets want it', async () => {
    const h = harness(() => ({ ok: true, key: KEY }));
    for (let i = 0; i < 100; i++) h.sk.want(3);
    expect(h.sk.get(3)).toBeUndefined();
    await h.next();
    expect(h.calls).toEqual([3]);
    expect(h.sk.get(3)).toEqual(KEY);
    h.sk.want(3);
    expect(h.calls).toEqual([3]);
  });

  it('stops at once after a refusal that is not retryable (not_entitled): no loop', async () => {
    const h = harness(() => ({ ok: false, code: 'not_entitled', retryable: false }));
    h.sk.want(0);
    await h.next();
    for (let i = 0; i < 10; i++) h.sk.want(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.calls).toEqual([0]);
    expect(h.refusals).toEqual([[0, 'not_entitled']]);
    expect(h.sk.refusal(0)).toBe('not_entitled');
  });

  it('retries retryable failures with backoff, then delivers the key', async () => {
    const h = harness((_s, attempt) =>
      attempt < 3 ? { ok: false, code: 'log_unavailable', retryable: true } : { ok: true, key: KEY },
    );
    const t0 = Date.now();
    h.sk.want(1);
    await h.next();
    expect(h.calls).toEqual([1, 1, 1]);
    expect(h.keys).toEqual([1]);
    // Two waits: at least 0.5 × 100 ms and 0.5 × 200 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('treats a thrown fetch as retryable and gives up after a bounded number of tries', async () => {
    const h = harness(() => {
      throw new Error('connection refused');
    });
    h.sk.want(2);
    await h.next();
    expect(h.calls.length).toBe(MAX_ERROR_TRIES);
    expect(h.refusals).toEqual([[2, 'unreachable']]);
    // Within the cool-down a new need asks nothing; the next round comes later (the server may be back).
    h.sk.want(2);
    expect(h.calls.length).toBe(MAX_ERROR_TRIES);
  }, 20_000);
});
