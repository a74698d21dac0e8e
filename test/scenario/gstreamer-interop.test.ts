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
function srtpdecCaps(ex: KeysExport, ssrc: number, roc = ex.keys[0]!.roc): string {
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
    `roc=(uint)${roc}`,
  ].join(',');
}

const PACKETS = 500;
const TS_PER_RTP = 7 * 188;
/** Packets sent before the sequence number wraps. */
const WRAP_AFTER = 136;
/** Where the late srtpdec starts: after the wrap, and after at least one key change. */
const LATE_START = 300;

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

    /** srtpdec over captured packets (RFC 4571 framed in a file), through rtpmp2tdepay: the TS bytes out. */
    function srtpdec(packets: readonly Uint8Array[], caps: string, name: string): Buffer {
      const input = join(system.dir, `${name}.rtps`);
      const output = join(system.dir, `${name}.ts`);
      writeFileSync(input, frameRfc4571(packets));
      const gst = spawnSync(
        GST,
        [
          '-q',
          'filesrc',
          `location=${input}`,
          '!',
          caps,
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
      return readFileSync(output);
    }

    it('across three key changes and the sequence wrap, byte-identical through rtpmp2tdepay; and a srtpdec started after the wrap, given ROC 1', async () => {
      const sender = await system.enrol('encoder', 'sender');
      const media = await sampleSlice(PACKETS); // ≈ 5.5 s of the sample, 7 TS packets per RTP packet
      expect(media.length).toBe(PACKETS * TS_PER_RTP);
      const capture = await captureGroup(system);
      // Start just below the wrap so the stream crosses 65535 → 0 (ROC 0 → 1) after WRAP_AFTER packets.
      const { progress, ssrc } = await sendMedia(system, sender, media, {
        speed: 4,
        initialSeq: 0x10000 - WRAP_AFTER,
      });
      await new Promise((r) => setTimeout(r, 200));
      await capture.close();
      expect(progress.packetsSent).toBe(PACKETS);
      expect(capture.packets.length).toBe(PACKETS);

      const ex = await exportContentKeys(system.store, system.secrets, asProgrammeId(system.programme.id));
      expect(ex.profile).toBe(profile);
      expect(ex.keys.length).toBeGreaterThanOrEqual(4); // at least three key changes, each signalled by the MKI
      expect(new Set(ex.keys.map((k) => k.segment)).size).toBeGreaterThanOrEqual(2);

      const whole = srtpdec(capture.packets, srtpdecCaps(ex, ssrc), 'whole');
      expect(whole.length).toBe(media.length);
      expect(whole.equals(Buffer.from(media))).toBe(true);

      // A receiver that starts LATE_START packets in, well past the wrap: it is told ROC 1 (what keycast's key
      // messages carry), and must give exactly the rest of the stream.
      expect(capture.packets[LATE_START]!.readUInt16BE(2)).toBe(LATE_START - WRAP_AFTER);
      const late = srtpdec(capture.packets.slice(LATE_START), srtpdecCaps(ex, ssrc, 1), 'late');
      const rest = Buffer.from(media.subarray(LATE_START * TS_PER_RTP));
      expect(late.length).toBe(rest.length);
      expect(late.equals(rest)).toBe(true);
    });
  },
);
