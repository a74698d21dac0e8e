// StaticReceiver's socket: where it cannot listen, it says so in words, never with a raw socket error.
import { describe, expect, it } from 'vitest';
import { StaticReceiver, type StaticSource } from '../../src/receiver/static-receiver.js';
import { quietLog } from '../helpers/system.js';
import { testKey } from '../srtp/helpers.js';

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
