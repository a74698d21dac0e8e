// Media in: an MPEG-TS file, raw TS over UDP (ffmpeg `-f mpegts udp://…`) or RTP/MP2T (ffmpeg `-f rtp_mpegts`,
// GStreamer `rtpmp2tpay`). Yields raw TS bytes; the chunker re-frames them.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import dgram from 'node:dgram';
import { decodeRtpHeader, decodeRtpPadding } from '../packet/rtp-header.js';
import { TsChunker } from './ts-chunker.js';

export type MediaInput =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'udp' | 'rtp'; readonly host: string; readonly port: number };

/** Parses `file.ts`, `file:///x.ts`, `udp://127.0.0.1:1234` or `rtp://127.0.0.1:1234` (also `@239.x.y.z:port`). */
export function parseMediaInput(spec: string): MediaInput {
  const m = /^(udp|rtp):\/\/@?([^:/]+):(\d+)\/?$/.exec(spec);
  if (m) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new Error(`input ${spec}: port must be 1–65535`);
    return { kind: m[1] as 'udp' | 'rtp', host: m[2]!, port };
  }
  if (/^[a-z]+:\/\//.test(spec) && !spec.startsWith('file://')) {
    throw new Error(`input ${spec}: expected a file path, udp://HOST:PORT or rtp://HOST:PORT`);
  }
  return { kind: 'file', path: spec.startsWith('file://') ? new URL(spec).pathname : spec };
}

export interface LiveInputOptions {
  /** Stop after this long without a datagram once something has arrived (live inputs). */
  readonly idleEndMs?: number;
  readonly signal?: AbortSignal;
}

export async function* readMedia(input: MediaInput, opts: LiveInputOptions = {}): AsyncGenerator<Uint8Array> {
  if (input.kind === 'file') {
    for await (const chunk of createReadStream(input.path, { highWaterMark: 188 * 7 * 64 })) {
      if (opts.signal?.aborted) return;
      yield chunk as Buffer;
    }
    return;
  }
  yield* readDatagrams(input, opts);
}

async function* readDatagrams(
  input: { kind: 'udp' | 'rtp'; host: string; port: number },
  opts: LiveInputOptions,
): AsyncGenerator<Uint8Array> {
  const isMulticast = /^(22[4-9]|23\d)\./.test(input.host);
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let rejected = 0;
  socket.on('message', (msg) => {
    if (input.kind === 'rtp') {
      const h = decodeRtpHeader(msg);
      if (!h.ok) {
        rejected++;
        return;
      }
      const padding = decodeRtpPadding(msg, h.headerLengthBytes);
      if (!padding.ok) {
        rejected++;
        return;
      }
      queue.push(msg.subarray(h.headerLengthBytes, msg.length - padding.paddingBytes));
    } else {
      queue.push(msg);
    }
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(input.port, input.host, () => {
      if (isMulticast) socket.addMembership(input.host, '127.0.0.1');
      resolve();
    });
  });
  const end = (): void => {
    ended = true;
    wake?.();
  };
  opts.signal?.addEventListener('abort', end, { once: true });
  let idleTimer: NodeJS.Timeout | undefined;
  try {
    while (!ended) {
      if (queue.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (opts.idleEndMs !== undefined) idleTimer = setTimeout(end, opts.idleEndMs);
        });
        wake = undefined;
        clearTimeout(idleTimer);
        continue;
      }
      yield queue.shift()!;
    }
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    socket.close();
    if (rejected > 0) process.emitWarning(`media input: ${rejected} datagrams were not RTP and were dropped`);
  }
}

/** Throws unless the file starts with MPEG-TS packets (checked on its first 64 KiB), before anything goes on air. */
export async function assertMpegTsFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(64 * 1024);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const chunker = new TsChunker();
    chunker.push(head.subarray(0, bytesRead));
    chunker.flush();
    if (chunker.packets === 0) throw new Error(`${path} is not MPEG-TS: no 188-byte packets with sync bytes`);
  } finally {
    await file.close();
  }
}
