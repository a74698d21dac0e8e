import { describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import { OutputSlab } from '../../src/packet/output-slab.js';
import { SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import type { SrtpProfileName } from '../../src/srtp/index.js';

const PROFILES: SrtpProfileName[] = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'];

function rtp(seq: number, payloadBytes: number): Uint8Array {
  const p = new Uint8Array(12 + payloadBytes);
  p[0] = 0x80;
  p[1] = 33;
  p[2] = seq >>> 8;
  p[3] = seq & 0xff;
  p.set([0x12, 0x34, 0x56, 0x78], 8);
  for (let i = 12; i < p.length; i++) p[i] = (seq * 7 + i) & 0xff;
  return p;
}

function keyFor(profile: SrtpProfileName) {
  return {
    keyId: asKeyId(1),
    masterKey: new Uint8Array(16).fill(0x11),
    masterSalt: new Uint8Array(profile.startsWith('AEAD_') ? 12 : 14).fill(0x22),
  };
}

describe('OutputSlab', () => {
  it('hands out views that never overlap, across slabs, and big outputs as arrays of their own', () => {
    const slab = new OutputSlab();
    const views = Array.from({ length: 300 }, (_, i) => slab.take(1 + ((i * 97) % 1400)));
    views.forEach((v, i) => v.fill(i & 0xff));
    views.forEach((v, i) => expect(v.every((b) => b === (i & 0xff))).toBe(true));
    const big = slab.take(20_000);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(20_000);
  });

  it('reuses only the last view given back, and nothing else', () => {
    const slab = new OutputSlab();
    const a = slab.take(100);
    const b = slab.take(100);
    slab.giveBack(a); // not the last one: ignored
    const c = slab.take(100);
    expect(c.byteOffset).toBeGreaterThan(b.byteOffset);
    slab.giveBack(c);
    expect(slab.take(100).byteOffset).toBe(c.byteOffset);
  });
});

describe.each(PROFILES)('SRTP outputs cut from a slab (%s)', (profile) => {
  it('every packet handed out keeps its bytes while later packets, and rejected ones, come and go', () => {
    const tx = new SrtpSender({ profile, mkiLengthBytes: 0 });
    const rx = new SrtpReceiver({ profile, mkiLengthBytes: 0 });
    tx.addKey(keyFor(profile));
    rx.addKey(keyFor(profile));
    const sent: Uint8Array[] = [];
    const protectedCopies: Uint8Array[] = [];
    const received: Uint8Array[] = [];
    for (let seq = 0; seq < 400; seq++) {
      const original = rtp(seq, 200 + ((seq * 131) % 1100));
      const p = tx.protect(original);
      if (!p.ok) throw new Error(p.reason);
      sent.push(original);
      protectedCopies.push(Uint8Array.from(p.packet));
      // A forgery (tag flipped) and a replay between good packets: rejected, and they overwrite nothing.
      const forged = Uint8Array.from(p.packet);
      forged[forged.length - 1]! ^= 1;
      expect(rx.unprotect(forged)).toMatchObject({ ok: false, reason: 'auth_fail' });
      const u = rx.unprotect(p.packet);
      if (!u.ok) throw new Error(u.reason);
      received.push(u.packet);
      if (seq > 0)
        expect(rx.unprotect(protectedCopies[seq - 1]!)).toMatchObject({ ok: false, reason: 'replay' });
    }
    received.forEach((r, i) => expect(Buffer.from(r).equals(Buffer.from(sent[i]!))).toBe(true));
  });
});
