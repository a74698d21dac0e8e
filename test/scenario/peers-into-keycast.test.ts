// Standard SRTP senders into `keycast receive` with static keys (no key server): GStreamer's srtpenc with an MKI
// and a key change (for every suite both keycast and GStreamer implement), and ffmpeg's SRTP muxer.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSrtpProfileName, srtpProfile } from '../../src/srtp/index.js';
import { packetHashes, randomPort, readRfc4571, replay, startKeycast } from '../helpers/peers.js';
import { sampleSlice } from '../helpers/system.js';
import { skipWithout } from '../helpers/tools.js';

const GST = 'gst-launch-1.0';
const FFMPEG = 'ffmpeg';

/** GStreamer's names for each suite; GCM is tested as soon as this keycast implements it. */
const GST_SUITES: Record<string, { cipher: string; auth: string }> = {
  AES_CM_128_HMAC_SHA1_80: { cipher: 'aes-128-icm', auth: 'hmac-sha1-80' },
  AEAD_AES_128_GCM: { cipher: 'aes-128-gcm', auth: 'null' },
};
export const PEER_SUITES = Object.keys(GST_SUITES).filter(isSrtpProfileName);

const dir = mkdtempSync(join(tmpdir(), 'keycast-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A key ‖ salt for `suite`, different for each n. */
function keySalt(suite: string, n: number): Buffer {
  const p = srtpProfile(suite);
  return Buffer.from(
    Array.from({ length: p.masterKeyBytes + p.masterSaltBytes }, (_, i) => (n * 37 + i * 11) & 0xff),
  );
}

/** srtpenc over one part of the TS: RTP/MP2T from `firstSeq` under one key and MKI, to an RFC 4571 file. */
function srtpenc(
  suite: string,
  ts: Uint8Array,
  o: { key: Buffer; mki: string; firstSeq: number; name: string },
) {
  const input = join(dir, `${o.name}.ts`);
  const output = join(dir, `${o.name}.rtps`);
  writeFileSync(input, ts);
  const { cipher, auth } = GST_SUITES[suite]!;
  const r = spawnSync(
    GST,
    [
      '-q',
      'filesrc',
      `location=${input}`,
      '!',
      'video/mpegts,systemstream=(boolean)true,packetsize=(int)188',
      '!',
      'rtpmp2tpay',
      'ssrc=305419896',
      `seqnum-offset=${o.firstSeq}`,
      'timestamp-offset=0',
      '!',
      'srtpenc',
      `key=${o.key.toString('hex')}`,
      `mki=${o.mki}`,
      `rtp-cipher=${cipher}`,
      `rtp-auth=${auth}`,
      `rtcp-cipher=${cipher}`,
      `rtcp-auth=${auth}`,
      '!',
      'rtpstreampay',
      '!',
      'filesink',
      `location=${output}`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return readRfc4571(output);
}

/** Runs `keycast receive` with static-key `args` on a fresh port, replays `packets` into it, returns its output. */
async function receiveStatic(
  args: readonly string[],
  packets: readonly Uint8Array[] | ((port: number) => Promise<void>),
  expectCode = 0,
) {
  const port = randomPort();
  const output = join(dir, `out-${port}.ts`);
  const rx = startKeycast([
    'receive',
    ...args,
    '--listen',
    `127.0.0.1:${port}`,
    '--output',
    output,
    '--idle-exit',
    '1500ms',
  ]);
  await rx.ready;
  if (typeof packets === 'function') await packets(port);
  else await replay(packets, port);
  const done = await rx.done;
  expect(done.code, done.stderr).toBe(expectCode);
  const stats = JSON.parse(done.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  return { output: readFileSync(output), stats, stderr: done.stderr };
}

describe.skipIf(skipWithout(GST))('GStreamer srtpenc → keycast receive (static keys)', () => {
  describe.each(PEER_SUITES)('%s', (suite) => {
    it.each(['--key', '--sdp'] as const)(
      'with an MKI and a key change, given by %s: the output is the input, byte for byte',
      async (mode) => {
        const media = await sampleSlice(600);
        const cut = 300 * 7 * 188; // rtpmp2tpay puts 7 TS packets in each RTP packet
        const [k1, k2] = [keySalt(suite, 1), keySalt(suite, 2)];
        // srtpenc changes keys only by a property set while playing; gst-launch cannot, so the stream is made by
        // two runs: the second goes on with the same SSRC from the next sequence number, under the second key.
        const first = srtpenc(suite, media.subarray(0, cut), {
          key: k1,
          mki: '0000000a',
          firstSeq: 1000,
          name: `${suite}-1`,
        });
        const second = srtpenc(suite, media.subarray(cut), {
          key: k2,
          mki: '0000000b',
          firstSeq: 1000 + first.length,
          name: `${suite}-2`,
        });
        expect(first.length).toBeGreaterThan(0);
        const keyArgs =
          mode === '--key'
            ? [
                '--profile',
                suite,
                '--key',
                k1.toString('hex'),
                '--mki',
                '0000000a',
                '--key',
                k2.toString('base64'),
                '--mki',
                '0000000b',
              ]
            : ['--sdp', writeSdp(suite, [k1, k2])];
        const r = await receiveStatic(keyArgs, [...first, ...second]);
        expect(r.stats).toMatchObject({ packetsDecrypted: first.length + second.length, packetsRejected: 0 });
        expect(r.output.length).toBe(media.length);
        expect(r.output.equals(Buffer.from(media))).toBe(true);
        expect(r.stderr).not.toContain(k1.toString('hex'));
      },
    );
  });

  it('rejects, counts and writes nothing for packets under a key it was not given', async () => {
    const suite = 'AES_CM_128_HMAC_SHA1_80';
    const media = await sampleSlice(50);
    const packets = srtpenc(suite, media, {
      key: keySalt(suite, 3),
      mki: '0000000a',
      firstSeq: 5,
      name: 'wrong',
    });
    const r = await receiveStatic(
      ['--key', keySalt(suite, 4).toString('hex'), '--mki', '0000000a'],
      packets,
      1, // received packets and decrypted none: an error, so a script can tell
    );
    expect(r.stderr).toContain(
      `keycast: received ${packets.length} packets and decrypted none (auth_fail ${packets.length}): check the key, the suite and the MKI`,
    );
    expect(packets.length).toBeGreaterThan(10);
    expect(r.stats).toMatchObject({
      packetsDecrypted: 0,
      packetsRejected: packets.length,
      rejectedByReason: { auth_fail: packets.length },
    });
    expect(r.output.length).toBe(0);
  });

  it('several a=crypto lines are alternatives: the lowest tag this keycast implements is used; a key lifetime is kept', async () => {
    const suite = 'AES_CM_128_HMAC_SHA1_80';
    const media = await sampleSlice(60);
    const k = keySalt(suite, 5);
    const packets = srtpenc(suite, media, { key: k, mki: '0000000a', firstSeq: 9, name: 'alt' });
    // An F8 line first (not implemented), then the real one.
    const f8 = `a=crypto:1 F8_128_HMAC_SHA1_80 inline:${keySalt(suite, 6).toString('base64')}|2^31|10:4`;
    const r = await receiveStatic(['--sdp', writeSdp(suite, [k], [f8])], packets);
    expect(r.stats).toMatchObject({ packetsDecrypted: packets.length, packetsRejected: 0 });
    expect(r.output.equals(Buffer.from(media))).toBe(true);
    expect(r.stderr).toContain('using the a=crypto line of this tag');

    // The same stream under an SDP whose key lives 20 packets: the rest is refused, though it authenticates.
    const path = join(dir, 'lifetime-20.sdp');
    writeFileSync(path, readFileSync(writeSdp(suite, [k]), 'utf8').replace('|2^31|', '|20|'));
    const l = await receiveStatic(['--sdp', path], packets);
    expect(l.stats).toMatchObject({
      packetsDecrypted: 20,
      rejectedByReason: { key_lifetime: packets.length - 20 },
    });
    // The first 20 packets' TS, whatever rtpmp2tpay put in each: a prefix of the input.
    expect(l.output.length).toBeGreaterThan(0);
    expect(l.output.length).toBeLessThan(media.length);
    expect(l.output.equals(Buffer.from(media.subarray(0, l.output.length)))).toBe(true);
  });
});

/** The SDP a peer would hand over: one a=crypto line, a key per MKI (RFC 4568 §9.1); `before`: lines ahead of it. */
function writeSdp(suite: string, keys: readonly Buffer[], before: readonly string[] = []): string {
  const path = join(dir, `${suite}-${before.length}.sdp`);
  const params = keys.map((k, i) => `inline:${k.toString('base64')}|2^31|${10 + i}:4`).join(';');
  writeFileSync(
    path,
    [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=gst',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 5004 RTP/SAVP 33',
      'a=rtpmap:33 MP2T/90000',
      ...before,
      `a=crypto:${before.length + 1} ${suite} ${params}`,
      '',
    ].join('\r\n'),
  );
  return path;
}

/** ffmpeg's RTP/MP2T muxer over `source`, to `url`, with `extra` output options (e.g. SRTP). */
function ffmpegRtpMpegts(source: string, url: string, extra: readonly string[] = []): Promise<void> {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-readrate', '8', '-i', source];
  args.push('-map', '0', '-c', 'copy', '-f', 'rtp_mpegts', ...extra, url);
  return new Promise((resolve, reject) => {
    const ff = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    ff.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`)),
    );
  });
}

/** The TS payloads of everything ffmpeg's rtp_mpegts sends, unencrypted: what the SRTP run must decrypt to. */
async function plainRtpMpegts(source: string): Promise<Buffer> {
  const socket = dgram.createSocket('udp4');
  const payloads: Buffer[] = [];
  socket.on('message', (m) => payloads.push(m.subarray(12))); // ffmpeg's RTP header: 12 bytes, no CSRC/extension
  const port = randomPort();
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  try {
    await ffmpegRtpMpegts(source, `rtp://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    socket.close();
  }
  return Buffer.concat(payloads);
}

describe.skipIf(skipWithout(FFMPEG, ['-version']))('ffmpeg SRTP sender → keycast receive --key', () => {
  // ffmpeg's rtp_mpegts re-muxes, so its TS is not the source's bytes. Two checks, both exact:
  // (1) keycast's output is byte-identical to what the same ffmpeg command sends without SRTP (the muxer is
  //     deterministic); (2) every audio and video packet demuxed from it is bit-identical to the source's, except
  //     at the very end: the sample slice cuts the last packet mid-way and the muxer trims it and holds back the
  //     last few audio frames (it does the same without SRTP: check (1)).
  it("decrypts to the bytes ffmpeg sends in the clear, and to the source's packets", async () => {
    const source = join(dir, 'ffmpeg-src.ts');
    writeFileSync(source, await sampleSlice(700));
    const plain = await plainRtpMpegts(source);
    const key = keySalt('AES_CM_128_HMAC_SHA1_80', 5);
    const suite = ['-srtp_out_suite', 'AES_CM_128_HMAC_SHA1_80', '-srtp_out_params', key.toString('base64')];
    const r = await receiveStatic(['--key', key.toString('base64')], (port) =>
      ffmpegRtpMpegts(source, `srtp://127.0.0.1:${port}`, suite),
    );
    expect(r.stats.packetsRejected).toBe(0);
    expect(plain.length).toBeGreaterThan(700 * 1316 * 0.9);
    expect(r.output.length).toBe(plain.length);
    expect(r.output.equals(plain)).toBe(true);

    const received = join(dir, 'ffmpeg-received.ts');
    writeFileSync(received, r.output);
    const want = packetHashes(source);
    const got = packetHashes(received);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [stream, hashes] of want) {
      // The muxer also holds back the last few audio frames (it packs several per PES) and never flushes them.
      const n = got.get(stream)!.length;
      expect(n, `stream ${stream}`).toBeGreaterThan(Math.max(50, hashes.length - 16));
      expect(got.get(stream)!.slice(0, n - 1), `stream ${stream}`).toEqual(hashes.slice(0, n - 1));
    }
  });
});
