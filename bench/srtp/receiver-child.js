// The receiver half of paths.js, in its own process so its CPU time is its own: receive, unprotect, write.
import dgram from 'node:dgram';
import { setTimeout } from 'node:timers';
import { fileSink } from '../../dist/receiver/sinks.js';
import { SrtpReceiver } from '../../dist/srtp/index.js';
import { masterKeyFor } from './measure.js';

const suite = process.argv[2];
const { key, salt } = masterKeyFor(suite);
const receiver = new SrtpReceiver({ profile: suite, mkiLengthBytes: 0 });
receiver.addKey({ keyId: 1, masterKey: key, masterSalt: salt });
const sink = fileSink('/dev/null', (err) => {
  throw err;
});
const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let packets = 0;
let failures = 0;
let cpu0;
socket.on('message', (msg) => {
  if (cpu0 === undefined) cpu0 = process.cpuUsage();
  const r = receiver.unprotect(msg);
  if (!r.ok) {
    failures++;
    return;
  }
  sink.write(r.packet, r.packet.subarray(r.payloadStart, r.payloadEnd));
  packets++;
});
socket.bind(0, '127.0.0.1', () => process.send({ port: socket.address().port }));
process.on('message', () => {
  // The sender is done: let the datagrams still queued arrive, then report.
  setTimeout(async () => {
    const u = process.cpuUsage(cpu0);
    socket.close();
    await sink.close();
    if (failures > 0) throw new Error(`receiver: ${failures} packets failed to unprotect`);
    process.send({ packets, cpuSeconds: (u.user + u.system) / 1e6 }, () => process.disconnect());
  }, 300);
});
