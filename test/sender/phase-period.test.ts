// Phase mode's minimum key period (docs/key-phase.md): a receiver holds one key per phase, so the key after next
// must not be announced while the current key is on the air. The sender refuses a programme where it would be.
import { describe, expect, it } from 'vitest';
import { Sender } from '../../src/sender/sender.js';
import type { ProgrammeInfo } from '../../src/server/client.js';
import { quietLog } from '../helpers/system.js';

const programme: ProgrammeInfo = {
  id: 1,
  serviceId: 1,
  name: 'p',
  group: '239.255.0.1',
  port: 5004,
  keyPort: 5006,
  profile: 'AES_CM_128_HMAC_SHA1_80',
  mkiLengthBytes: 0,
  keyChange: 'phase',
  segmentLengthMs: 4000,
  cryptoPeriodMs: 2000,
  pricing: 'both',
  latestSegment: null,
};

function sender(p: ProgrammeInfo, speed: number, leadMs: number): Sender {
  return new Sender({
    programme: p,
    speed,
    paced: true,
    leadMs,
    carouselIntervalMs: 100,
    interfaceAddress: '127.0.0.1',
    ttl: 0,
    log: quietLog,
    issueContentKey: () => Promise.reject(new Error('not used')),
  });
}

describe('phase mode: the crypto period must outlast the announcement look-ahead', () => {
  it('refuses (1000 + 500 ms) x 2 = 3000 ms of look-ahead for a 2000 ms period, accepts it at speed 1', () => {
    expect(() => sender(programme, 2, 1000)).toThrow(
      "key change 'phase' needs a crypto period longer than the key announcement look-ahead (2000 ms <= 3000 ms",
    );
    expect(() => sender(programme, 1, 1000)).not.toThrow();
  });

  it('has no such limit with the MKI', () => {
    expect(() => sender({ ...programme, keyChange: 'mki', mkiLengthBytes: 4 }, 8, 1000)).not.toThrow();
  });
});
