// What went on the air for a programme, for tests that check what was sent before what or replay it into a
// Receiver: the media and key-message datagrams in one list in arrival order, and a map of it — each content
// key's segments (from its verified key message) and each media packet's key id (its MKI), segment, RTP sequence
// number and where its TS payload lies in the sender's input.
import dgram from 'node:dgram';
import type { KeyId } from '../../src/ids.js';
import { verifyKeyMessage } from '../../src/keys/key-message-sign.js';
import { decodeRtpHeader } from '../../src/packet/rtp-header.js';
import { decodeSrtpTrailer, type MkiLengthBytes } from '../../src/packet/srtp-trailer.js';
import type { TestSystem } from './system.js';

export interface CapturedDatagram {
  readonly kind: 'media' | 'key';
  readonly bytes: Buffer;
  /** Date.now() at arrival. */
  readonly atMs: number;
}

/** Joins the programme's media and key ports; every datagram of either, in arrival order. */
export async function captureProgramme(system: TestSystem) {
  const datagrams: CapturedDatagram[] = [];
  const { group, port, keyPort } = system.programme;
  const sockets = await Promise.all(
    (['media', 'key'] as const).map(async (kind) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      socket.on('message', (bytes) => datagrams.push({ kind, bytes, atMs: Date.now() }));
      await new Promise<void>((resolve) => socket.bind(kind === 'media' ? port : keyPort, group, resolve));
      socket.addMembership(group, '127.0.0.1');
      socket.setRecvBufferSize(4 * 1024 * 1024); // capped by net.core.rmem_max
      return socket;
    }),
  );
  return {
    datagrams,
    close: () => Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))),
  };
}

export interface AnnouncedKey {
  /** The segments whose PSK wraps a copy, newest first; the key belongs to the first. */
  readonly segments: readonly number[];
  /** Index in the capture of the first datagram carrying its key message. */
  readonly firstMessageAt: number;
}

export interface MediaPacket {
  /** Index in the capture. */
  readonly at: number;
  readonly keyId: KeyId;
  readonly segment: number;
  readonly seq: number;
  /** Where its TS payload lies in the sender's input, given that every packet of the input was captured. */
  readonly offset: number;
  readonly lengthBytes: number;
}

const AUTH_TAG_BYTES = 10; // AES_CM_128_HMAC_SHA1_80, the test programmes' profile

/** Maps a capture: throws when a media packet names a key no verified key message announced. */
export function mapCapture(
  system: TestSystem,
  datagrams: readonly CapturedDatagram[],
  serverPublicKey: Uint8Array,
) {
  const keys = new Map<number, AnnouncedKey>();
  const media: MediaPacket[] = [];
  const layout = {
    mkiLengthBytes: system.programme.mkiLengthBytes as MkiLengthBytes,
    authTagBytes: AUTH_TAG_BYTES,
  };
  let offset = 0;
  datagrams.forEach((d, at) => {
    if (d.kind === 'key') {
      const v = verifyKeyMessage(d.bytes, serverPublicKey);
      if (!v.ok || v.msg.type !== 'content_key' || keys.has(v.msg.keyId)) return;
      const segments = v.msg.entries.filter((e) => e.wrapKind === 'psk').map((e) => e.wrapKeyId);
      keys.set(v.msg.keyId, { segments: segments.sort((a, b) => b - a), firstMessageAt: at });
      return;
    }
    const h = decodeRtpHeader(d.bytes);
    const t = decodeSrtpTrailer(d.bytes, layout);
    if (!h.ok || !t.ok) throw new Error(`captured media datagram ${at} is not SRTP`);
    const keyId = t.trailer.mki as KeyId;
    const key = keys.get(keyId);
    if (key === undefined)
      throw new Error(`media datagram ${at} names key ${keyId}, announced by no key message`);
    const lengthBytes = t.authenticatedLengthBytes - h.headerLengthBytes;
    media.push({ at, keyId, segment: key.segments[0]!, seq: h.header.sequenceNumber, offset, lengthBytes });
    offset += lengthBytes;
  });
  return { keys, media };
}

/** The input bytes of the media packets of `segments`, in order. */
export function bytesOfSegments(
  input: Uint8Array,
  media: readonly MediaPacket[],
  segments: (segment: number) => boolean,
): Buffer {
  return Buffer.concat(
    media.filter((m) => segments(m.segment)).map((m) => input.subarray(m.offset, m.offset + m.lengthBytes)),
  );
}
