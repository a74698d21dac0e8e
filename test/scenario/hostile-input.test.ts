// Untrusted input never breaks a receiver: forged, damaged, replayed and made-up datagrams on the media and key
// ports, sent while a genuine programme runs, are each counted by reason and change nothing — the entitled
// receiver still hands on the programme byte for byte.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../src/crypto/sign.js';
import { asKeyId, asSsrc } from '../../src/ids.js';
import { signKeyMessage } from '../../src/keys/key-message-sign.js';
import {
  captureGroup,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestSystem,
} from '../helpers/system.js';

function randomBytes(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));
}

/** A well-formed RTP/MP2T header with the given MKI and a random body and tag: passes every check but the tag. */
function fakeSrtp(ssrc: number, seq: number, keyId: number): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = 33;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(seq * 3600, 4);
  h.writeUInt32BE(ssrc, 8);
  const mki = Buffer.alloc(4);
  mki.writeUInt32BE(keyId);
  return Buffer.concat([h, randomBytes(1316), mki, randomBytes(10)]);
}

describe('hostile datagrams during a programme', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  it('are rejected by reason while the genuine stream decrypts byte for byte', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const rx = await startReceiver(system, viewer);
    const capture = await captureGroup(system);
    const attacker = dgram.createSocket('udp4');
    attacker.bind(0, '127.0.0.1');
    await new Promise((r) => attacker.once('listening', r));
    attacker.setMulticastInterface('127.0.0.1');
    attacker.setMulticastTTL(0);
    const { group, port, keyPort } = system.programme;
    const forger = generateSigningKeyPair();
    const forgedKeyMessage = signKeyMessage(
      {
        type: 'content_key',
        programmeId: system.programme.id,
        messageSeq: 1_000_000,
        issuedAtMs: Date.now(),
        keyId: asKeyId(1),
        ssrc: asSsrc(1),
        roc: 0,
        seq: 0,
        profile: 'AES_CM_128_HMAC_SHA1_80',
        mkiLengthBytes: 4,
        activatesAtMs: Date.now(),
        expiresAtMs: Date.now() + 60_000,
        entries: [{ wrapKind: 'psk', wrapKeyId: 0, epoch: 0, wrapped: randomBytes(58) }],
      },
      forger.privateKey,
    );
    let n = 0;
    const noise = setInterval(() => {
      n++;
      attacker.send(randomBytes(n % 40), port, group); // short and malformed
      attacker.send(fakeSrtp(0x1234, n, 0x7fff0000 + n), port, group); // key ids nobody announced
      attacker.send(fakeSrtp(0x1234, n, 1 + (n % 4)), port, group); // real key ids (live, retired, gone), forged tags
      attacker.send(randomBytes(n % 200), keyPort, group);
      attacker.send(forgedKeyMessage, keyPort, group);
    }, 5);

    const media = await sampleSlice(300);
    const sent = await sendMedia(system, sender, media, { speed: 8 });
    clearInterval(noise);
    // Replays of genuine packets (the sender's SSRC; the capture also heard the noise), after the fact.
    const genuine = capture.packets.filter((p) => p.length > 12 && p.readUInt32BE(8) === sent.ssrc);
    expect(genuine.length).toBeGreaterThanOrEqual(20);
    for (const p of genuine.slice(-20)) attacker.send(p, port, group);
    await new Promise((r) => setTimeout(r, 300));
    attacker.close();
    await capture.close();
    await rx.close();

    const stats = rx.receiver.stats;
    expect(sent.progress.packetsSent).toBe(300);
    expect(stats.packetsDecrypted).toBe(300);
    expect(rx.output().equals(Buffer.from(media))).toBe(true);
    // Nothing held the genuine stream back: at 8× a packet is due every ~10 ms; a forged packet waiting for a key
    // that is not coming would stall it for the hold time (3 s).
    expect(rx.longestGapMs()).toBeLessThan(1000);
    const by = stats.rejectedByReason;
    expect(by.auth_fail ?? 0).toBeGreaterThan(0);
    expect(by.unknown_key ?? 0).toBeGreaterThan(0);
    expect((by.too_short ?? 0) + (by.bad_version ?? 0) + (by.bad_header ?? 0)).toBeGreaterThan(0);
    expect(by.replay).toBe(20);
    expect(stats.keyMessages.rejected.bad_signature ?? 0).toBeGreaterThan(0);
    expect(stats.packetsReceived).toBe(stats.packetsDecrypted + stats.packetsRejected);
  });
});
