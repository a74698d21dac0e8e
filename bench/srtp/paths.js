// Whole paths on loopback, in packets per second per core (packets / CPU seconds of the process doing the work):
//   sender:   MPEG-TS bytes → TsChunker (7 TS packets per RTP payload) → RTP header → SrtpSender.protect →
//             UDP send to 127.0.0.1 (this process);
//   receiver: UDP receive → SrtpReceiver.unprotect → write the TS payload to /dev/null (a child process).
// The sender yields to the event loop every few packets so the receiver keeps up; datagrams the receiver's socket
// drops anyway are not counted for it (its rate is per packet it handled).
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { setImmediate } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { encodeRtpHeader } from '../../dist/packet/rtp-header.js';
import { TsChunker } from '../../dist/sender/ts-chunker.js';
import { SrtpSender } from '../../dist/srtp/index.js';
import { masterKeyFor } from './measure.js';

export const PATH_PAYLOAD_BYTES = 7 * 188;
const SSRC = 0x1234abcd;
const YIELD_EVERY = 16;

/** TS packets on PID 0x100, a PCR (27 MHz, 1 ms apart) in every 7th so the chunker times every chunk. */
export function syntheticTs(packets) {
  const ts = new Uint8Array(packets * 188);
  for (let i = 0; i < packets; i++) {
    const p = i * 188;
    ts[p] = 0x47;
    ts[p + 1] = 0x01;
    ts[p + 2] = 0x00;
    ts[p + 3] = 0x10 | (i & 0x0f);
    if (i % 7 === 0) {
      ts[p + 3] = 0x30 | (i & 0x0f);
      ts[p + 4] = 7;
      ts[p + 5] = 0x10;
      const base = (i / 7) * 90; // 1 ms of 90 kHz PCR base per chunk
      ts[p + 6] = Math.floor(base / 2 ** 25) & 0xff;
      ts[p + 7] = Math.floor(base / 2 ** 17) & 0xff;
      ts[p + 8] = Math.floor(base / 2 ** 9) & 0xff;
      ts[p + 9] = Math.floor(base / 2) & 0xff;
      ts[p + 10] = ((base % 2) << 7) | 0x7e;
    }
    for (let j = p + (i % 7 === 0 ? 12 : 4); j < p + 188; j++) ts[j] = (j * 31) & 0xff;
  }
  return ts;
}

const cpuSeconds = (u) => (u.user + u.system) / 1e6;

async function startReceiver(suite) {
  const child = fork(fileURLToPath(new URL('./receiver-child.js', import.meta.url)), [suite], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = await once(child, 'message');
  return { child, port: msg.port };
}

/** Sends `packets` RTP packets of 7 TS packets through the keycast sender path; returns both sides' rates. */
export async function pathRates(suite, packets) {
  const { child, port } = await startReceiver(suite);
  const ts = syntheticTs(packets * 7 + 7);
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { key, salt } = masterKeyFor(suite);
  const sender = new SrtpSender({ profile: suite, mkiLengthBytes: 0 });
  sender.addKey({ keyId: 1, masterKey: key, masterSalt: salt });
  const chunker = new TsChunker();
  let seq = 0;
  let sent = 0;
  const cpu0 = process.cpuUsage();
  for (let off = 0; off < ts.length && sent < packets; off += 64 * 188) {
    for (const chunk of chunker.push(ts.subarray(off, off + 64 * 188))) {
      if (sent === packets) break;
      const header = encodeRtpHeader({
        version: 2,
        padding: false,
        marker: false,
        payloadType: 33,
        sequenceNumber: seq++ & 0xffff,
        timestamp: Math.floor(chunk.pcrTicks / 300) % 2 ** 32,
        ssrc: SSRC,
        csrcs: [],
      });
      const rtp = new Uint8Array(header.length + chunk.payload.length);
      rtp.set(header, 0);
      rtp.set(chunk.payload, header.length);
      const r = sender.protect(rtp);
      if (!r.ok) throw new Error(`protect: ${r.reason}`);
      socket.send(r.packet, port, '127.0.0.1');
      if (++sent % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const senderCpu = cpuSeconds(process.cpuUsage(cpu0));
  child.send({ done: sent });
  const [result] = await once(child, 'message');
  socket.close();
  await once(child, 'exit');
  return {
    sender: { packetsPerSecond: sent / senderCpu, packets: sent },
    receiver: { packetsPerSecond: result.packets / result.cpuSeconds, packets: result.packets },
  };
}
