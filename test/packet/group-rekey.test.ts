import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunkGroupRekeyEntries,
  decodeGroupRekey,
  encodeGroupRekey,
  GROUP_MODE_CODES,
  GROUP_REKEY_OVERHEAD_BYTES,
  GROUP_UNDER_KIND_CODES,
  groupRekeySize,
  type GroupMode,
  type GroupRekeyEntry,
  type GroupRekeyMessage,
  type GroupUnderKind,
} from '../../src/packet/group-rekey.js';
import { decodeAnyKeyMessage, decodeKeyMessage } from '../../src/packet/key-message.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const sig = new Uint8Array(64).fill(0xab);

const entryArb: fc.Arbitrary<GroupRekeyEntry> = fc.record({
  node: u32,
  version: u32,
  underKind: fc.constantFrom(...(Object.keys(GROUP_UNDER_KIND_CODES) as GroupUnderKind[])),
  underId: u32,
  underVersion: u32,
  wrapped: fc.uint8Array({ minLength: 0, maxLength: 80 }),
});

const messageArb: fc.Arbitrary<GroupRekeyMessage> = fc
  .record({
    programmeId: u32,
    messageSeq: u32,
    issuedAtMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    groupEpoch: u32,
    mode: fc.constantFrom(...(Object.keys(GROUP_MODE_CODES) as GroupMode[])),
    parts: fc.integer({ min: 1, max: 0xffffffff }),
    partFrac: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    entries: fc.array(entryArb, { maxLength: 8 }),
  })
  .map(({ partFrac, ...m }) => ({
    type: 'group_rekey' as const,
    ...m,
    part: Math.floor(partFrac * m.parts),
  }));

const sample: GroupRekeyMessage = {
  type: 'group_rekey',
  programmeId: 7,
  messageSeq: 42,
  issuedAtMs: 1_767_225_600_000,
  groupEpoch: 9,
  mode: 'lkh',
  part: 0,
  parts: 1,
  entries: [
    {
      node: 5,
      version: 3,
      underKind: 'member',
      underId: 1001,
      underVersion: 0,
      wrapped: new Uint8Array(60).fill(1),
    },
    {
      node: 1,
      version: 9,
      underKind: 'node',
      underId: 5,
      underVersion: 3,
      wrapped: new Uint8Array(60).fill(2),
    },
  ],
};

describe('group_rekey codec', () => {
  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const b = encodeGroupRekey(m, sig);
        expect(b.length).toBe(groupRekeySize(m));
        const d = decodeGroupRekey(b);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        const { signature, signedBytes, ...fields } = d.msg;
        expect(fields).toEqual(m);
        expect(signature).toEqual(sig);
        expect(signedBytes.length).toBe(b.length - 64);
      }),
      { seed: 4242, numRuns: 200 },
    );
  });

  it('never throws on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const d = decodeGroupRekey(bytes);
        expect(typeof d.ok).toBe('boolean');
        decodeAnyKeyMessage(bytes);
      }),
      { seed: 4243, numRuns: 500 },
    );
  });

  it('a truncated message is too_short at every length, with need and have', () => {
    const b = encodeGroupRekey(sample, sig);
    for (let n = 0; n < b.length; n++) {
      const d = decodeGroupRekey(b.subarray(0, n));
      expect(d.ok).toBe(false);
      if (n >= 1) expect(d).toMatchObject({ reason: 'too_short', have: n });
    }
  });

  it('refuses a bad version, type, mode, under kind, part and trailing bytes', () => {
    const b = encodeGroupRekey(sample, sig);
    const with_ = (i: number, v: number) => {
      const c = b.slice();
      c[i] = v;
      return decodeGroupRekey(c);
    };
    expect(with_(0, 2)).toMatchObject({ ok: false, reason: 'bad_version' });
    expect(with_(1, 1)).toMatchObject({ ok: false, reason: 'unknown_type' });
    expect(with_(24, 0)).toMatchObject({ ok: false, reason: 'bad_mode' });
    expect(with_(24, 4)).toMatchObject({ ok: false, reason: 'bad_mode' });
    expect(with_(36 + 8, 3)).toMatchObject({ ok: false, reason: 'bad_wrap_kind' });
    expect(with_(31, 1)).toMatchObject({ ok: false, reason: 'bad_field' }); // part 1 of 1
    expect(with_(35, 0)).toMatchObject({ ok: false, reason: 'bad_field' }); // parts 0
    expect(with_(12, 0xff)).toMatchObject({ ok: false, reason: 'bad_field' }); // issuedAtMs beyond 2^53
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(decodeGroupRekey(longer)).toMatchObject({ ok: false, reason: 'trailing_bytes' });
  });

  it('reads through a DataView at the right offset inside a pooled buffer', () => {
    const b = encodeGroupRekey(sample, sig);
    const pool = new Uint8Array(b.length + 13);
    pool.set(b, 13);
    const d = decodeGroupRekey(pool.subarray(13));
    expect(d.ok && d.msg.entries[1]!.underId).toBe(5);
  });

  it('is type 3 of the key messages: decodeAnyKeyMessage decodes it, decodeKeyMessage leaves it to its callers', () => {
    const b = encodeGroupRekey(sample, sig);
    expect(decodeAnyKeyMessage(b)).toMatchObject({ ok: true, msg: { type: 'group_rekey', groupEpoch: 9 } });
    expect(decodeKeyMessage(b)).toMatchObject({ ok: false, reason: 'unsupported_type' });
  });

  it('throws on out-of-range fields when encoding (programming error)', () => {
    expect(() => encodeGroupRekey({ ...sample, part: 1 }, sig)).toThrow(/part/);
    expect(() => encodeGroupRekey({ ...sample, parts: 0 }, sig)).toThrow(/parts/);
    expect(() => encodeGroupRekey({ ...sample, groupEpoch: -1 }, sig)).toThrow(/groupEpoch/);
    expect(() => encodeGroupRekey(sample, new Uint8Array(63))).toThrow(/signature/);
  });
});

describe('chunkGroupRekeyEntries', () => {
  it('puts every entry in exactly one chunk, in order, each message at most the bound (property)', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 200 }),
        fc.integer({ min: GROUP_REKEY_OVERHEAD_BYTES + 19 + 80, max: 1500 }),
        (entries, max) => {
          const chunks = chunkGroupRekeyEntries(entries, max);
          expect(chunks.flat()).toEqual(entries);
          expect(chunks.length).toBeGreaterThan(0);
          chunks.forEach((c, part) => {
            const size = groupRekeySize({ ...sample, part, parts: chunks.length, entries: c });
            expect(size).toBeLessThanOrEqual(max);
            if (entries.length > 0) expect(c.length).toBeGreaterThan(0);
          });
        },
      ),
      { seed: 4244, numRuns: 200 },
    );
  });

  it('refuses an entry that cannot fit alone', () => {
    const big = { ...sample.entries[0]!, wrapped: new Uint8Array(1200) };
    expect(() => chunkGroupRekeyEntries([big], 1199)).toThrow(/cannot fit/);
  });
});
