// Interop with a real SRTP stack: the content keys from `keys export` let GStreamer's srtpdec (libsrtp 2)
// decrypt what keycast's sender multicast, across key changes and across the sequence-number wrap, to the
// same bytes, with AES-CM and with AES-GCM (which also checks keycast's RFC 7714 key derivation, for which the
// RFC has no vector, against libsrtp's).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asProgrammeId } from '../../src/ids.js';
import { exportContentKeys, type KeysExport } from '../../src/store/index.js';
import { skipWithout } from '../helpers/tools.js';
import { captureGroup, sampleSlice, sendMedia, startSystem, type TestSystem } from '../helpers/system.js';

const GST = 'gst-launch-1.0';

/** RFC 4571 framing (16-bit length, then the packet), what GStreamer's rtpstreamdepay reads. */
function frameRfc4571(packets: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    packets.flatMap((p) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(p.length);
      return [len, Buffer.from(p)];
    }),
  );
}

/**
 * srtpdec's srtp-cipher and srtp-auth per profile. GStreamer has no GCM auth value: with a GCM cipher, auth "null"
 * makes it set libsrtp's 16-byte AEAD tag (gst/srtp/gstsrtp.c).
 */
const SRTPDEC_SUITES: Record<KeysExport['profile'], readonly [string, string]> = {
  AES_CM_128_HMAC_SHA1_80: ['aes-128-icm', 'hmac-sha1-80'],
  AES_CM_128_HMAC_SHA1_32: ['aes-128-icm', 'hmac-sha1-32'],
  AES_256_CM_HMAC_SHA1_80: ['aes-256-icm', 'hmac-sha1-80'],
  AEAD_AES_128_GCM: ['aes-128-gcm', 'null'],
  AEAD_AES_256_GCM: ['aes-256-gcm', 'null'],
};

/** srtpdec caps from a keys export: the first key as srtp-key/mki, the others as srtp-keyN/mkiN. */
function srtpdecCaps(ex: KeysExport, ssrc: number): string {
  const [cipher, auth] = SRTPDEC_SUITES[ex.profile];
  const keys = ex.keys.map((k, i) => {
    const n = i === 0 ? '' : String(i + 1);
    return `srtp-key${n}=(buffer)${k.masterKey}${k.masterSalt},mki${n}=(buffer)${k.mki}`;
  });
  return [
    'application/x-srtp-stream',
    'media=(string)video',
    'clock-rate=(int)90000',
    'encoding-name=(string)MP2T',
    'payload=(int)33',
    `ssrc=(uint)${ssrc}`,
    ...keys,
    `srtp-cipher=(string)${cipher}`,
    `srtp-auth=(string)${auth}`,
    `srtcp-cipher=(string)${cipher}`,
    `srtcp-auth=(string)${auth}`,
    `roc=(uint)${ex.keys[0]!.roc}`,
  ].join(',');
}

const PROFILES = [
  'AES_CM_128_HMAC_SHA1_80',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
  'AES_256_CM_HMAC_SHA1_80',
] as const;

describe.skipIf(skipWithout(GST)).each(PROFILES)(
  'GStreamer srtpdec decrypts the keycast multicast: %s',
  (profile) => {
    let system: TestSystem;
    beforeAll(async () => {
      system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000, profile });
    });
    afterAll(async () => system.close());

    it('across key changes and the sequence wrap, byte-identical through rtpmp2tdepay', async () => {
      const sender = await system.enrol('encoder', 'sender');
      const media = await sampleSlice(500); // ≈ 5.5 s of the sample
      const capture = await captureGroup(system);
      // Start just below the wrap so the stream crosses 65535 → 0 (ROC 0 → 1).
      const { progress, ssrc } = await sendMedia(system, sender, media, { speed: 4, initialSeq: 65_400 });
      await new Promise((r) => setTimeout(r, 200));
      await capture.close();
      expect(progress.packetsSent).toBe(500);
      expect(capture.packets.length).toBe(500);

      const ex = await exportContentKeys(system.store, system.secrets, asProgrammeId(system.programme.id));
      expect(ex.profile).toBe(profile);
      expect(ex.keys.length).toBeGreaterThanOrEqual(3); // at least two key changes
      expect(new Set(ex.keys.map((k) => k.segment)).size).toBeGreaterThanOrEqual(2);

      const input = join(system.dir, 'capture.rtps');
      const output = join(system.dir, 'gst.ts');
      writeFileSync(input, frameRfc4571(capture.packets));
      const gst = spawnSync(
        GST,
        [
          '-q',
          'filesrc',
          `location=${input}`,
          '!',
          srtpdecCaps(ex, ssrc),
          '!',
          'rtpstreamdepay',
          '!',
          'srtpdec',
          '!',
          'rtpmp2tdepay',
          '!',
          'filesink',
          `location=${output}`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(gst.status, gst.stderr).toBe(0);
      const decrypted = readFileSync(output);
      expect(decrypted.length).toBe(media.length);
      expect(decrypted.equals(Buffer.from(media))).toBe(true);
    });
  },
);
