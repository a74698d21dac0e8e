// Timing for the SRTP bench: each op runs in chunks of packets that time themselves (setup outside the clock), until
// a sample has run sampleMs; the reported rate is the median of the samples, with the slowest and fastest kept.
import { performance } from 'node:perf_hooks';

export const CHUNK_PACKETS = 2048;

/** Times `fn` (no arguments) and returns its wall time in ms. */
export function timed(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** runChunk() → { packets, ms }. Returns { packetsPerSecond (median), min, max } over `samples` samples. */
export function measureRate(runChunk, { samples, sampleMs }) {
  runChunk(); // warm-up (JIT), not counted
  const rates = [];
  for (let s = 0; s < samples; s++) {
    let packets = 0;
    let ms = 0;
    while (ms < sampleMs) {
      const r = runChunk();
      packets += r.packets;
      ms += r.ms;
    }
    rates.push((packets / ms) * 1000);
  }
  rates.sort((a, b) => a - b);
  return {
    packetsPerSecond: rates[Math.floor(rates.length / 2)],
    min: rates[0],
    max: rates[rates.length - 1],
  };
}

/**
 * The three crypto ops of one implementation, suite and payload size, as chunk runners. `impl.open(suite, bytes)`
 * returns { protect(n) → ms, prepareUnprotect(n), unprotect() → ms, pair(n) → ms }; unprotect gets a fresh receiver
 * (outside the clock) for each chunk, since a receiver refuses replays.
 */
export function opRunners(session) {
  const n = CHUNK_PACKETS;
  return {
    protect: () => ({ packets: n, ms: session.protect(n) }),
    unprotect: () => {
      session.prepareUnprotect(n);
      return { packets: n, ms: session.unprotect() };
    },
    pair: () => ({ packets: n, ms: session.pair(n) }),
  };
}

/** An RTP packet (V=2, PT 33, the given SSRC) with a random payload; seq and timestamp are set per packet. */
export function rtpTemplate(payloadBytes, ssrc) {
  const p = new Uint8Array(12 + payloadBytes);
  for (let i = 12; i < p.length; i++) p[i] = (i * 131 + 7) & 0xff;
  p[0] = 0x80;
  p[1] = 33;
  new DataView(p.buffer).setUint32(8, ssrc);
  return p;
}

export function setSeq(packet, seq) {
  packet[2] = (seq >>> 8) & 0xff;
  packet[3] = seq & 0xff;
}

/** Master key and salt for a suite: 16 bytes of key; 14 bytes of salt for AES-CM, 12 for GCM (RFC 7714 §12). */
export function masterKeyFor(suite) {
  const key = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
  const salt = Uint8Array.from({ length: suite.startsWith('AEAD_') ? 12 : 14 }, (_, i) => 0x80 + i);
  return { key, salt };
}
