// keycast → ffmpeg: a single-key programme (no MKI, one content key: `programme create --single-key`), the SDP
// from `keycast sdp`, and ffmpeg decoding the multicast; every frame it decodes is identical to the source's.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byStream, KEYCAST_BIN } from '../helpers/peers.js';
import { sampleSlice, sendMedia, startSystem, type TestSystem } from '../helpers/system.js';
import { skipWithout } from '../helpers/tools.js';

const FFMPEG = 'ffmpeg';
const HOUR_MS = 3_600_000;

/** Whether a UDP socket is bound to `port` on this host (ffmpeg has opened its input). */
function udpPortBound(port: number): boolean {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // "  sl  local_address ...": the slot is right-aligned in 5 columns, so a 5-digit slot has no leading space.
  return ['/proc/net/udp', '/proc/net/udp6'].some((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .some((l) => l.trim().split(/\s+/)[1]?.endsWith(suffix)),
  );
}

async function until(what: string, ok: () => boolean, limitMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skipWithout(FFMPEG, ['-version']))('keycast → ffmpeg with the SDP from `keycast sdp`', () => {
  let system: TestSystem;
  // As `programme create --single-key` makes it: no MKI, one crypto period for the whole programme.
  beforeAll(async () => {
    system = await startSystem({
      mkiLengthBytes: 0,
      cryptoPeriodMs: 24 * HOUR_MS,
      segmentLengthMs: 24 * HOUR_MS,
    });
  });
  afterAll(async () => system.close());

  it('decodes frames identical to the source, in order', async () => {
    const media = await sampleSlice(500);
    const source = join(system.dir, 'source.ts');
    writeFileSync(source, media);
    const sender = await system.enrol('encoder', 'sender');
    // The sender asks for its one key, then waits out the lead before the first packet: time to write the SDP and
    // start ffmpeg, which must be listening from the first packet to decode from the first frame.
    const sending = sendMedia(system, sender, media, { speed: 2, leadMs: 4000 });
    const sdp = join(system.dir, 'programme.sdp');
    await until('the content key and the SDP', () => {
      const r = spawnSync(process.execPath, [
        KEYCAST_BIN,
        'sdp',
        '--programme',
        String(system.programme.id),
        '--data',
        system.dataDir,
        '--out',
        sdp,
      ]);
      return r.status === 0;
    });
    const text = readFileSync(sdp, 'utf8');
    expect(text).toMatch(/^m=application 0 /m);
    expect(text).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}\r$/m); // one key, no MKI
    const out = join(system.dir, 'ffmpeg.framemd5');
    const ff = spawn(
      FFMPEG,
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
        ...['-localaddr', '127.0.0.1', '-listen_timeout', '6', '-buffer_size', '4194304'],
        ...['-protocol_whitelist', 'file,udp,rtp,crypto', '-i', sdp, '-f', 'framemd5', out],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => ff.on('close', resolve));
    let ffmpegExited = false;
    void exited.then(() => (ffmpegExited = true));
    await until('ffmpeg to open the media port', () => {
      if (ffmpegExited) throw new Error(`ffmpeg exited before opening the media port: ${stderr}`);
      return udpPortBound(system.programme.port);
    });
    const { progress } = await sending;
    expect(progress.keysRotated).toBe(0);
    expect(await exited, stderr).toBe(0);

    const src = spawnSync(
      FFMPEG,
      ['-hide_banner', '-loglevel', 'error', '-i', source, '-f', 'framemd5', '-'],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(src.status, src.stderr).toBe(0);
    const want = byStream(src.stdout);
    const got = byStream(readFileSync(out, 'utf8'));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [stream, frames] of want) {
      // ffmpeg's RTP input ends on a timeout and drops what its MPEG-TS demuxer still holds (the last few frames;
      // the same happens unencrypted). Everything it decoded is the source's, frame for frame, from the first.
      const n = got.get(stream)!.length;
      expect(n, `stream ${stream}`).toBeGreaterThan(Math.max(50, frames.length - 16));
      // The last frame decoded is from a cut access unit (the slice ends mid-frame), so it is left out.
      expect(got.get(stream)!.slice(0, n - 1), `stream ${stream}`).toEqual(frames.slice(0, n - 1));
    }
  });
});
