// Interop for SRTCP: GStreamer's srtpdec (libsrtp 2) verifies and decrypts keycast's SRTCP sender reports, with the
// MKI, across a key change, with E=1 and E=0, to the exact compound RTCP bytes keycast built.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import { encodeSenderReportCompound } from '../../src/packet/rtcp.js';
import type { SrtpProfileName } from '../../src/crypto/srtp-profiles.js';
import { SrtcpSender } from '../../src/srtp/index.js';
import { SSRC, testKey, toHex } from '../srtp/helpers.js';
import { skipWithout } from '../helpers/tools.js';

const GST = 'gst-launch-1.0';

function frameRfc4571(packets: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    packets.flatMap((p) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(p.length);
      return [len, Buffer.from(p)];
    }),
  );
}

function unframeRfc4571(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 2 <= bytes.length;) {
    const len = bytes.readUInt16BE(at);
    out.push(bytes.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

/** srtpdec's cipher and auth names per suite (GStreamer 1.22: an AEAD suite's auth is null). */
const GST_SUITES = {
  AES_CM_128_HMAC_SHA1_80: ['aes-128-icm', 'hmac-sha1-80'],
  AES_256_CM_HMAC_SHA1_80: ['aes-256-icm', 'hmac-sha1-80'],
  AEAD_AES_128_GCM: ['aes-128-gcm', 'null'],
  AEAD_AES_256_GCM: ['aes-256-gcm', 'null'],
} as const satisfies Partial<Record<SrtpProfileName, readonly [string, string]>>;
type GstSuite = keyof typeof GST_SUITES;

const keyHex = (id: number, profile: GstSuite) => {
  const k = testKey(id, profile);
  return toHex(k.masterKey) + toHex(k.masterSalt);
};

/** Six SRs under key 1 then key 2 (from the fourth on); `encrypt` is the E bit. */
function sendReports(
  encrypt: boolean,
  profile: GstSuite = 'AES_CM_128_HMAC_SHA1_80',
): { plain: Uint8Array[]; protectedPackets: Uint8Array[] } {
  const sender = new SrtcpSender({ profile, mkiLengthBytes: 4, encrypt });
  sender.addKey(testKey(1, profile));
  sender.addKey(testKey(2, profile));
  sender.activate(asKeyId(1));
  const plain: Uint8Array[] = [];
  const protectedPackets: Uint8Array[] = [];
  for (let i = 0; i < 6; i++) {
    if (i === 3) sender.activate(asKeyId(2));
    const rtcp = encodeSenderReportCompound(
      {
        ssrc: SSRC,
        ntp: { seconds: 3_900_000_000 + i, fraction: 0x4000_0000 },
        rtpTimestamp: 90_000 * i,
        packetCount: 100 * i,
        octetCount: 131_600 * i,
      },
      'keycast-sender@127.0.0.1',
    );
    const r = sender.protect(rtcp);
    if (!r.ok) throw new Error(r.reason);
    plain.push(rtcp);
    protectedPackets.push(r.packet);
  }
  return { plain, protectedPackets };
}

describe.skipIf(skipWithout(GST))('GStreamer srtpdec decrypts keycast SRTCP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keycast-srtcp-gst-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs srtpdec on its RTCP pads over the packets; returns the RTCP packets it let through. */
  function srtpdec(
    packets: readonly Uint8Array[],
    encrypted: boolean,
    profile: GstSuite = 'AES_CM_128_HMAC_SHA1_80',
  ): string[] {
    const [cipher, auth] = GST_SUITES[profile];
    const srtcpCipher = encrypted ? cipher : 'null';
    const input = join(dir, `in-${profile}-${srtcpCipher}.srtcp`);
    const output = join(dir, `out-${profile}-${srtcpCipher}.rtcp`);
    writeFileSync(input, frameRfc4571(packets));
    const caps = [
      'application/x-srtcp-stream',
      `ssrc=(uint)${SSRC}`,
      `srtp-key=(buffer)${keyHex(1, profile)}`,
      'mki=(buffer)00000001',
      `srtp-key2=(buffer)${keyHex(2, profile)}`,
      'mki2=(buffer)00000002',
      `srtp-cipher=(string)${cipher}`,
      `srtp-auth=(string)${auth}`,
      `srtcp-cipher=(string)${srtcpCipher}`,
      `srtcp-auth=(string)${auth}`,
    ].join(',');
    const gst = spawnSync(
      GST,
      [
        '-q',
        'srtpdec',
        'name=dec',
        'filesrc',
        `location=${input}`,
        '!',
        caps,
        '!',
        'rtpstreamdepay',
        '!',
        'dec.rtcp_sink',
        'dec.rtcp_src',
        '!',
        'rtpstreampay',
        '!',
        'filesink',
        `location=${output}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(gst.status, gst.stderr).toBe(0);
    return unframeRfc4571(readFileSync(output)).map((b) => b.toString('hex'));
  }

  it.each(Object.keys(GST_SUITES) as GstSuite[])(
    '%s: E=1, with MKI, across a key change: the same compound RTCP bytes',
    (profile) => {
      const { plain, protectedPackets } = sendReports(true, profile);
      expect(srtpdec(protectedPackets, true, profile)).toEqual(plain.map(toHex));
    },
  );

  it('E=0 (authenticated, not encrypted): srtpdec verifies it under an auth-only SRTCP policy', () => {
    const { plain, protectedPackets } = sendReports(false);
    expect(srtpdec(protectedPackets, false)).toEqual(plain.map(toHex));
  });

  it('a tampered packet is dropped by srtpdec too (the check can fail)', () => {
    const { plain, protectedPackets } = sendReports(true);
    const bad = protectedPackets.map((p) => Uint8Array.from(p));
    bad[2]![20]! ^= 0x01;
    expect(srtpdec(bad, true)).toEqual(plain.filter((_, i) => i !== 2).map(toHex));
  });
});
