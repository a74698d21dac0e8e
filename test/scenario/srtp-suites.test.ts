// Every SRTP suite end to end over real multicast on loopback: a programme created with the suite, the key server's
// content keys of the suite's lengths (key messages, keys export), the sender protecting with it and a receiver
// handing on the sender's TS byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SRTP_PROFILES } from '../../src/crypto/srtp-profiles.js';
import { asProgrammeId } from '../../src/ids.js';
import { decodeKeyMessage } from '../../src/packet/key-message.js';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { exportContentKeys } from '../../src/store/index.js';
import {
  captureGroup,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestSystem,
} from '../helpers/system.js';

const SUITES = ['AES_256_CM_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const;

describe.each(SUITES)('%s end to end', (profile) => {
  const suite = SRTP_PROFILES[profile];
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000, profile });
  });
  afterAll(async () => system.close());

  it('sender → multicast → receiver: byte-identical TS, packets of the suite’s size, keys of its lengths', async () => {
    expect(system.programme.profile).toBe(profile);
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const rx = await startReceiver(system, viewer);
    const media = await sampleSlice(300); // ≈ 3.3 s: at least two key changes at a 1 s crypto period
    const mediaCapture = await captureGroup(system);
    const keyCapture = await captureGroup(system, system.programme.keyPort);
    const { progress } = await sendMedia(system, sender, media, { speed: 4 });
    await new Promise((r) => setTimeout(r, 300));
    await rx.close();
    await mediaCapture.close();
    await keyCapture.close();

    expect(progress.packetsSent).toBe(300);
    expect(rx.output().equals(Buffer.from(media))).toBe(true);

    // On the wire: header | payload | AEAD tag (GCM) | MKI | auth tag (AES-CM), and never the clear TS.
    const overhead = suite.cipherOverheadBytes + system.programme.mkiLengthBytes + suite.authTagBytes;
    expect(mediaCapture.packets).toHaveLength(300);
    const first = mediaCapture.packets[0]!;
    const header = decodeRtpHeader(first);
    expect(header.ok).toBe(true);
    if (!header.ok) return;
    const payload = first.subarray(header.headerLengthBytes, first.length - overhead);
    expect(payload.length).toBe(188 * 7);
    expect(payload.equals(Buffer.from(media.subarray(0, 188 * 7)))).toBe(false);

    // Key messages name the suite; the key server keeps keys of its lengths and exports them.
    const profiles = new Set(
      keyCapture.packets.flatMap((k) => {
        const d = decodeKeyMessage(k);
        return d.ok && d.msg.type === 'content_key' ? [d.msg.profile] : [];
      }),
    );
    expect([...profiles]).toEqual([profile]);
    const ex = await exportContentKeys(system.store, system.secrets, asProgrammeId(system.programme.id));
    expect(ex.profile).toBe(profile);
    expect(ex.keys.length).toBeGreaterThanOrEqual(3);
    for (const k of ex.keys) {
      expect(k.masterKey.length).toBe(2 * suite.masterKeyBytes);
      expect(k.masterSalt.length).toBe(2 * suite.masterSaltBytes);
    }
  });
});
