// StaticReceiver's socket: where it cannot listen, it says so in words, never with a raw socket error. Key lifetimes.
import { describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import { StaticReceiver, type StaticSource } from '../../src/receiver/static-receiver.js';
import { SrtpSender } from '../../src/srtp/index.js';
import { quietLog } from '../helpers/system.js';
import { mustProtect, rtp, testKey } from '../srtp/helpers.js';

function receiverOn(source: StaticSource): StaticReceiver {
  const k = testKey(1);
  return new StaticReceiver({
    profile: 'AES_CM_128_HMAC_SHA1_80',
    mkiLengthBytes: 0,
    keys: [{ masterKey: k.masterKey, masterSalt: k.masterSalt }],
    source,
    sinks: [],
    log: quietLog,
  });
}

describe('StaticReceiver.open', () => {
  it('refuses an address that is not this host’s (192.0.2.1, TEST-NET-1) with a plain explanation', async () => {
    await expect(receiverOn({ kind: 'unicast', address: '192.0.2.1', port: 40_000 }).open()).rejects.toThrow(
      'cannot receive on 192.0.2.1:40000: not an address of this host (a unicast c= line or --listen must name one, e.g. 127.0.0.1)',
    );
  });

  it('refuses IPv6 before touching a socket', async () => {
    await expect(receiverOn({ kind: 'unicast', address: '::1', port: 40_000 }).open()).rejects.toThrow(
      'cannot receive on ::1:40000: IPv4 addresses only',
    );
  });

  it('listens on 127.0.0.1 and closes', async () => {
    const rx = receiverOn({ kind: 'unicast', address: '127.0.0.1', port: 0 });
    await rx.open();
    await rx.close();
  });
});

describe('StaticReceiver key lifetime (a=crypto lifetime)', () => {
  it('refuses packets under a key beyond its lifetime, even when they authenticate; others are untouched', () => {
    const k1 = testKey(1);
    const k2 = testKey(2);
    const sender = new SrtpSender({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 1 });
    sender.addKey({ ...k1, keyId: asKeyId(1) });
    sender.addKey({ ...k2, keyId: asKeyId(2) });
    const delivered: number[] = [];
    const rx = new StaticReceiver({
      profile: 'AES_CM_128_HMAC_SHA1_80',
      mkiLengthBytes: 1,
      keys: [
        { masterKey: k1.masterKey, masterSalt: k1.masterSalt, mki: 1, lifetimePackets: 5 },
        { masterKey: k2.masterKey, masterSalt: k2.masterSalt, mki: 2 },
      ],
      source: { kind: 'unicast', address: '127.0.0.1', port: 0 },
      sinks: [{ write: (p) => void delivered.push(p[3]!), close: () => Promise.resolve() }],
      log: quietLog,
    });
    sender.activate(asKeyId(1));
    for (let seq = 0; seq < 8; seq++) rx.receive(mustProtect(sender, rtp({ seq })).srtp);
    sender.activate(asKeyId(2));
    for (let seq = 8; seq < 12; seq++) rx.receive(mustProtect(sender, rtp({ seq })).srtp);
    expect(rx.stats).toMatchObject({
      packetsReceived: 12,
      packetsDecrypted: 9,
      packetsRejected: 3,
      rejectedByReason: { key_lifetime: 3 },
    });
    expect(delivered).toEqual([0, 1, 2, 3, 4, 8, 9, 10, 11]);
  });
});
