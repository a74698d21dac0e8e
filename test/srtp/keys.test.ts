// Master keys: MKI selection among several keys for one SSRC, activation, retirement with a grace
// period, zeroization, and the misuse that throws.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { asKeyId, asSsrc } from '../../src/ids.js';
import { AesCmHmacSha1Transform } from '../../src/crypto/aes-cm-hmac-sha1.js';
import { SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import type { MkiLengthBytes } from '../../src/srtp/index.js';
import { SSRC, mustProtect, rtp, testKey, toHex } from './helpers.js';

const PROFILE = 'AES_CM_128_HMAC_SHA1_80';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('MKI selects among several master keys for one SSRC', () => {
  it.each([1, 2, 3, 4] as const)(
    'with a %i-byte MKI: keys switch mid-stream, the index runs on',
    (mkiLengthBytes) => {
      const keys = [testKey(0x01020301), testKey(0x01020302), testKey(0x01020303)];
      const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes });
      const receiver = new SrtpReceiver({ profile: PROFILE, mkiLengthBytes });
      for (const k of keys) {
        sender.addKey(k);
        receiver.addKey(k);
      }
      const sent: { srtp: Uint8Array; index: number; keyId: number }[] = [];
      let seq = 65530;
      for (const k of keys) {
        sender.activate(k.keyId);
        for (let i = 0; i < 3; i++) sent.push(mustProtect(sender, rtp({ seq: seq++ & 0xffff })));
      }
      expect(sent.map((p) => p.index)).toEqual([
        65530, 65531, 65532, 65533, 65534, 65535, 65536, 65537, 65538,
      ]);
      expect(sent.map((p) => p.keyId)).toEqual(keys.flatMap((k) => [k.keyId, k.keyId, k.keyId]));
      // The MKI is the key id's low bytes, big-endian, between the payload and the 10-byte tag.
      for (const p of sent) {
        const mki = p.srtp.subarray(p.srtp.length - 10 - mkiLengthBytes, p.srtp.length - 10);
        expect(toHex(mki)).toBe(
          p.keyId
            .toString(16)
            .padStart(8, '0')
            .slice(8 - 2 * mkiLengthBytes),
        );
      }
      // Delivered out of order, across the key changes, each packet decrypts under its own key.
      for (const i of [3, 0, 6, 1, 4, 8, 2, 7, 5]) {
        const r = receiver.unprotect(sent[i]!.srtp);
        expect(r.ok, `packet ${i}`).toBe(true);
        if (!r.ok) return;
        expect(r.keyId).toBe(sent[i]!.keyId);
        expect(r.index).toBe(sent[i]!.index);
        expect(r.ssrc).toBe(SSRC);
      }
      expect(receiver.streamState(SSRC)).toEqual({ roc: 1, lastSeq: 2 });
    },
  );

  it("a missing key is unknown_key carrying the MKI's key id; once added, the same bytes decrypt", () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 4 });
    const receiver = new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 4 });
    const key = testKey(0xfedcba98);
    sender.addKey(key);
    sender.activate(key.keyId);
    const p = mustProtect(sender, rtp({ seq: 10 }));
    expect(toHex(p.srtp.subarray(p.srtp.length - 14, p.srtp.length - 10))).toBe('fedcba98');
    expect(receiver.unprotect(p.srtp)).toEqual({ ok: false, reason: 'unknown_key', keyId: 0xfedcba98 });
    expect(receiver.streamState(SSRC)).toBeUndefined();
    receiver.addKey(key);
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.keyId).toBe(0xfedcba98);
  });

  it('with mkiLengthBytes 0 the one key is the active key, and names the decrypted packets', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 0 });
    const receiver = new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 0 });
    sender.addKey(testKey(42));
    expect(sender.activeKeyId).toBe(42);
    const p = mustProtect(sender, rtp({ seq: 1 }));
    expect(p.srtp.length).toBe(rtp({ seq: 1 }).length + 10);
    expect(receiver.unprotect(p.srtp)).toEqual({ ok: false, reason: 'unknown_key' });
    receiver.addKey(testKey(42));
    const r = receiver.unprotect(p.srtp);
    expect(r.ok && r.keyId).toBe(42);
    // A second live key cannot share the empty MKI...
    expect(() => receiver.addKey(testKey(43))).toThrow(
      'SrtpReceiver.addKey: key 43 has the empty MKI, already used by key 42',
    );
    // ...but replaces a retired one.
    receiver.retireKey(asKeyId(42));
    receiver.addKey(testKey(43));
    expect(receiver.hasKey(asKeyId(42))).toBe(false);
    expect(receiver.hasKey(asKeyId(43))).toBe(true);
  });
});

describe('SrtpReceiver key lifetime', () => {
  function setup(mkiLengthBytes: MkiLengthBytes = 1) {
    let now = 1_000;
    const clock = { advance: (ms: number) => (now += ms) };
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes });
    const receiver = new SrtpReceiver({
      profile: PROFILE,
      mkiLengthBytes,
      retireGraceMs: 2_000,
      now: () => now,
    });
    for (const k of [testKey(1), testKey(2)]) {
      sender.addKey(k);
      receiver.addKey(k);
    }
    sender.activate(asKeyId(1));
    return { sender, receiver, clock };
  }

  it('a retired key still decrypts during its grace period, then is zeroized and gone', () => {
    const { sender, receiver, clock } = setup();
    const zeroize = vi.spyOn(AesCmHmacSha1Transform.prototype, 'zeroize');
    const packets = [1, 2, 3].map((seq) => mustProtect(sender, rtp({ seq })).srtp);
    receiver.retireKey(asKeyId(1));
    clock.advance(1_999);
    expect(receiver.hasKey(asKeyId(1))).toBe(true);
    expect(receiver.unprotect(packets[0]!).ok).toBe(true);
    expect(zeroize).not.toHaveBeenCalled();
    clock.advance(1);
    expect(receiver.unprotect(packets[1]!)).toEqual({ ok: false, reason: 'unknown_key', keyId: 1 });
    expect(zeroize).toHaveBeenCalledTimes(1);
    expect(receiver.hasKey(asKeyId(1))).toBe(false);
    expect(receiver.hasKey(asKeyId(2))).toBe(true);
    expect(receiver.unprotect(packets[2]!)).toEqual({ ok: false, reason: 'unknown_key', keyId: 1 });
  });

  it('prune() deletes and zeroizes every key past its grace period', () => {
    const { receiver, clock } = setup();
    const zeroize = vi.spyOn(AesCmHmacSha1Transform.prototype, 'zeroize');
    receiver.retireKey(asKeyId(1));
    clock.advance(1_000);
    receiver.retireKey(asKeyId(2));
    clock.advance(1_000);
    expect(receiver.prune()).toBe(1);
    expect(zeroize).toHaveBeenCalledTimes(1);
    expect(receiver.hasKey(asKeyId(1))).toBe(false);
    expect(receiver.hasKey(asKeyId(2))).toBe(true);
    clock.advance(1_000);
    expect(receiver.prune()).toBe(1);
    expect(receiver.hasKey(asKeyId(2))).toBe(false);
    expect(receiver.prune()).toBe(0);
  });

  it('addKey is idempotent for an identical key and throws for the same id with other bytes', () => {
    const { receiver } = setup();
    receiver.addKey(testKey(1));
    const other = { ...testKey(1), masterSalt: testKey(9).masterSalt };
    expect(() => receiver.addKey(other)).toThrow(
      'SrtpReceiver.addKey: key 1 arrived again with different bytes',
    );
  });

  it('a live key keeps its MKI; a retired one gives it up', () => {
    const { receiver } = setup(1);
    expect(() => receiver.addKey(testKey(257))).toThrow(
      'SrtpReceiver.addKey: key 257 has MKI 0x01, already used by key 1',
    );
    receiver.retireKey(asKeyId(1));
    receiver.addKey(testKey(257));
    expect(receiver.hasKey(asKeyId(1))).toBe(false);
    expect(receiver.hasKey(asKeyId(257))).toBe(true);
  });

  it('the receiver keeps its own copy of the key material', () => {
    const { sender, receiver } = setup();
    const key = testKey(3);
    receiver.addKey(key);
    sender.addKey(testKey(3));
    sender.activate(asKeyId(3));
    key.masterKey.fill(0);
    expect(receiver.unprotect(mustProtect(sender, rtp({ seq: 1 })).srtp).ok).toBe(true);
  });
});

describe('SrtpSender keys', () => {
  it('retire() zeroizes at once; protect() then has no active key', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 1 });
    sender.addKey(testKey(1));
    sender.activate(asKeyId(1));
    const zeroize = vi.spyOn(AesCmHmacSha1Transform.prototype, 'zeroize');
    sender.retire(asKeyId(1));
    expect(zeroize).toHaveBeenCalledTimes(1);
    expect(sender.hasKey(asKeyId(1))).toBe(false);
    expect(sender.activeKeyId).toBeUndefined();
    expect(sender.protect(rtp({ seq: 1 }))).toEqual({ ok: false, reason: 'unknown_key' });
    sender.retire(asKeyId(1)); // no-op
  });

  it('the per-key packet budget runs out per key, not per stream', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 1, maxPacketsPerKey: 2 });
    sender.addKey(testKey(1));
    sender.addKey(testKey(2));
    sender.activate(asKeyId(1));
    expect(mustProtect(sender, rtp({ seq: 1 })).index).toBe(1);
    expect(mustProtect(sender, rtp({ seq: 2, ssrc: asSsrc(0x1234) })).index).toBe(2);
    expect(sender.protect(rtp({ seq: 3 }))).toEqual({ ok: false, reason: 'key_exhausted' });
    sender.activate(asKeyId(2));
    expect(mustProtect(sender, rtp({ seq: 3 })).index).toBe(3);
  });

  it('refuses to protect the same index twice, or one older than the window', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 0 });
    sender.addKey(testKey(1));
    mustProtect(sender, rtp({ seq: 1000 }));
    expect(sender.protect(rtp({ seq: 1000 }))).toEqual({ ok: false, reason: 'replay' });
    mustProtect(sender, rtp({ seq: 1200 }));
    expect(sender.protect(rtp({ seq: 1072 }))).toEqual({ ok: false, reason: 'replay' });
    expect(mustProtect(sender, rtp({ seq: 1073 })).index).toBe(1073);
  });

  it('throws exact messages on misuse', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 1 });
    sender.addKey(testKey(1));
    expect(() => sender.addKey(testKey(1))).toThrow('SrtpSender.addKey: key 1 is already added');
    expect(() => sender.addKey(testKey(257))).toThrow(
      'SrtpSender.addKey: key 257 has MKI 0x01, already used by key 1',
    );
    expect(() => sender.addKey({ ...testKey(2), masterKey: new Uint8Array(32) })).toThrow(
      'AES_CM_128_HMAC_SHA1_80: masterKey must be 16 bytes, got 32',
    );
    expect(() => sender.addKey({ ...testKey(2), masterSalt: new Uint8Array(12) })).toThrow(
      'AES_CM_128_HMAC_SHA1_80: masterSalt must be 14 bytes, got 12',
    );
    expect(() => sender.addKey({ ...testKey(2), keyId: asKeyId(-1) })).toThrow(
      'SrtpSender.addKey: keyId must be an integer in 0..4294967295, got -1',
    );
    expect(() => sender.activate(asKeyId(9))).toThrow('SrtpSender.activate: unknown key 9');
    expect(() => sender.setStreamState(SSRC, { roc: 2 ** 32, lastSeq: 0 })).toThrow(
      'SrtpSender.setStreamState: roc must be an integer in 0..4294967295, got 4294967296',
    );
    expect(() => sender.setStreamState(SSRC, { roc: 0, lastSeq: 65536 })).toThrow(
      'SrtpSender.setStreamState: lastSeq must be an integer in 0..65535, got 65536',
    );
    expect(() => new SrtpSender({ profile: PROFILE, mkiLengthBytes: 5 as MkiLengthBytes })).toThrow(
      'SrtpSender: mkiLengthBytes must be 0, 1, 2, 3 or 4, got 5',
    );
    expect(() => new SrtpSender({ profile: 'AES_GCM' as typeof PROFILE, mkiLengthBytes: 0 })).toThrow(
      'Unknown SRTP profile: AES_GCM',
    );
    expect(() => new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 0, replayWindowPackets: 32 })).toThrow(
      'SrtpReceiver: replayWindowPackets must be an integer >= 64, got 32',
    );
    expect(() => new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 0, retireGraceMs: -1 })).toThrow(
      'SrtpReceiver: retireGraceMs must be a finite number >= 0, got -1',
    );
  });
});

describe('SrtpReceiver replay window', () => {
  it('a packet received twice is a replay the second time, and moves nothing', () => {
    const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 0 });
    const receiver = new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 0 });
    sender.addKey(testKey(1));
    receiver.addKey(testKey(1));
    const p = mustProtect(sender, rtp({ seq: 7 })).srtp;
    expect(receiver.unprotect(p).ok).toBe(true);
    expect(receiver.unprotect(p)).toEqual({ ok: false, reason: 'replay', keyId: 1 });
  });

  it.each([64, 128, 1000])(
    'with a %i-packet window: that far back is refused, one less is accepted',
    (size) => {
      const sender = new SrtpSender({ profile: PROFILE, mkiLengthBytes: 0, replayWindowPackets: 2048 });
      const receiver = new SrtpReceiver({ profile: PROFILE, mkiLengthBytes: 0, replayWindowPackets: size });
      sender.addKey(testKey(1));
      receiver.addKey(testKey(1));
      const old = mustProtect(sender, rtp({ seq: 5000 - size })).srtp;
      const edge = mustProtect(sender, rtp({ seq: 5000 - size + 1 })).srtp;
      expect(receiver.unprotect(mustProtect(sender, rtp({ seq: 5000 })).srtp).ok).toBe(true);
      expect(receiver.unprotect(old)).toEqual({ ok: false, reason: 'replay', keyId: 1 });
      expect(receiver.unprotect(edge).ok).toBe(true);
      expect(receiver.unprotect(edge)).toEqual({ ok: false, reason: 'replay', keyId: 1 });
    },
  );
});
