// Turns a datagram from the key port into a verified content-key announcement, or a reason.
import { asProgrammeId } from '../ids.js';
import { unwrapContentKeyFromMessage } from '../keys/content-key.js';
import { verifyKeyMessage } from '../keys/key-message-sign.js';
import type { KeyMessageOpener } from './key-message-gate.js';

export function keyMessageOpener(serverPublicKey: Uint8Array): KeyMessageOpener {
  return (datagram) => {
    // Own the bytes: the decoded message keeps views into them.
    const r = verifyKeyMessage(new Uint8Array(datagram), serverPublicKey);
    if (!r.ok) return { ok: false, reason: r.reason };
    const msg = r.msg;
    if (msg.type !== 'content_key') return { ok: false, reason: 'unsupported_type' };
    const epochs = new Map<number, number>();
    for (const e of msg.entries) if (e.wrapKind === 'psk') epochs.set(e.wrapKeyId, e.epoch);
    return {
      ok: true,
      key: {
        programmeId: asProgrammeId(msg.programmeId),
        messageSeq: msg.messageSeq,
        keyId: msg.keyId,
        ssrc: msg.ssrc,
        roc: msg.roc,
        seq: msg.seq,
        expiresAtMs: msg.expiresAtMs,
        segments: [...epochs.keys()],
        unwrap(segment, psk) {
          const u = unwrapContentKeyFromMessage(msg, psk, segment, epochs.get(segment) ?? 0);
          return u.ok ? u.key : undefined;
        },
      },
    };
  };
}
