// Where recovered media goes: a TS file, raw TS over UDP (ffplay/VLC `udp://`), or the original RTP packets.
import dgram from 'node:dgram';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';

export interface MediaSink {
  /** `packet` is the recovered RTP packet, `payload` its TS bytes. Both are only valid during the call. */
  write(packet: Uint8Array, payload: Uint8Array): void;
  close(): Promise<void>;
}

/**
 * Writes the TS to `path`. The file is opened at once, so a bad path fails before anything starts; a later write
 * error (disk full) goes to `onError` and the rest is dropped.
 */
export function fileSink(path: string, onError: (err: Error) => void): MediaSink {
  const out: WriteStream = createWriteStream(path, { fd: openSync(path, 'w') });
  let failed: Error | undefined;
  out.on('error', (err) => {
    if (failed) return;
    failed = err;
    onError(err);
  });
  return {
    write(_packet, payload) {
      if (!failed) out.write(Buffer.from(payload));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        out.end(() => (failed ? reject(failed) : resolve()));
      }),
  };
}

/** Forwards to a local port: `udp://127.0.0.1:PORT` sends TS, `rtp://127.0.0.1:PORT` sends the RTP packets. */
export function forwardSink(spec: string): MediaSink {
  const m = /^(udp|rtp):\/\/(127\.\d+\.\d+\.\d+|localhost):(\d+)$/.exec(spec);
  if (!m)
    throw new Error(`forward ${spec}: expected udp://127.0.0.1:PORT or rtp://127.0.0.1:PORT (loopback only)`);
  const rtp = m[1] === 'rtp';
  const host = m[2] === 'localhost' ? '127.0.0.1' : m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`forward ${spec}: port must be 1–65535`);
  const socket = dgram.createSocket('udp4');
  return {
    write(packet, payload) {
      socket.send(Buffer.from(rtp ? packet : payload), port, host);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
