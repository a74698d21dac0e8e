// Turns a datagram from the key port into a verified content-key announcement, segment-key message or group rekey
// (type 3, a session's group keys), or a reason. Given the client's own identity, a segment-key message's entry
// addressed to this client (wrapKind client, wrapKeyId = its id) opens under its client key.
import { asProgrammeId } from '../ids.js';
import { unwrapContentKeyFromMessage, unwrapContentKeyUnderGroupKey } from '../keys/content-key.js';
import { verifyGroupRekey } from '../keys/group/index.js';
import { GROUP_REKEY_TYPE_CODE } from '../packet/group-rekey.js';
import { verifyKeyMessage } from '../keys/key-message-sign.js';
import { unwrapSegmentKeyForClient } from '../keys/segment-key.js';
import { periodFromNumber, unwrapSegmentKeyUnderServiceKey } from '../keys/service-key.js';
import type { SignedSegmentKeyMessage } from '../packet/key-message.js';
import type { KeyMessageOpener, OpenResult } from './key-message-gate.js';

/** The receiving client, to open copies addressed to it: its id and client key (from its credentials). */
export interface OwnIdentity {
  readonly clientId: number;
  readonly clientKey: Uint8Array;
}

export function keyMessageOpener(serverPublicKey: Uint8Array, self?: OwnIdentity): KeyMessageOpener {
  return (datagram) => {
    // Own the bytes: the decoded message keeps views into them.
    const bytes = new Uint8Array(datagram);
    if (bytes.length >= 2 && bytes[1] === GROUP_REKEY_TYPE_CODE) {
      const g = verifyGroupRekey(bytes, serverPublicKey);
      return g.ok ? { ok: true, groupRekey: g.msg } : { ok: false, reason: g.reason };
    }
    const r = verifyKeyMessage(bytes, serverPublicKey);
    if (!r.ok) return { ok: false, reason: r.reason };
    const msg = r.msg;
    if (msg.type === 'segment_key') return openSegmentKey(msg, self);
    const epochs = new Map<number, number>();
    const groupEpochs = new Set<number>();
    for (const e of msg.entries) {
      if (e.wrapKind === 'psk') epochs.set(e.wrapKeyId, e.epoch);
      else if (e.wrapKind === 'group') groupEpochs.add(e.epoch);
    }
    return {
      ok: true,
      key: {
        programmeId: asProgrammeId(msg.programmeId),
        messageSeq: msg.messageSeq,
        keyId: msg.keyId,
        ssrc: msg.ssrc,
        roc: msg.roc,
        seq: msg.seq,
        issuedAtMs: msg.issuedAtMs,
        expiresAtMs: msg.expiresAtMs,
        segments: [...epochs.keys()],
        groupEpochs: [...groupEpochs],
        unwrap(segment, psk) {
          const u = unwrapContentKeyFromMessage(msg, psk, segment, epochs.get(segment) ?? 0);
          return u.ok ? u.key : undefined;
        },
        unwrapGroup(groupKey, groupEpoch) {
          const u = unwrapContentKeyUnderGroupKey(msg, groupKey, groupEpoch);
          return u.ok ? u.key : undefined;
        },
      },
    };
  };
}

function openSegmentKey(msg: SignedSegmentKeyMessage, self: OwnIdentity | undefined): OpenResult {
  const copies = new Map<string, Uint8Array>();
  let mine: Uint8Array | undefined;
  for (const e of msg.entries) {
    if (e.wrapKind === 'service') copies.set(`${e.wrapKeyId}/${periodFromNumber(e.epoch)}`, e.wrapped);
    else if (e.wrapKind === 'client' && e.wrapKeyId === self?.clientId && e.epoch === msg.epoch)
      mine = e.wrapped;
  }
  return {
    ok: true,
    segmentKey: {
      programmeId: asProgrammeId(msg.programmeId),
      messageSeq: msg.messageSeq,
      segment: msg.segment,
      epoch: msg.epoch,
      expiresAtMs: msg.expiresAtMs,
      services: [...copies.keys()].map((k) => {
        const [serviceId, period] = k.split('/') as [string, string];
        return { serviceId: Number(serviceId), period };
      }),
      unwrap(serviceId, period, sk) {
        const wrapped = copies.get(`${serviceId}/${period}`);
        if (wrapped === undefined) return undefined;
        const ctx = {
          serviceId,
          period,
          programmeId: msg.programmeId,
          segment: msg.segment,
          epoch: msg.epoch,
        };
        const u = unwrapSegmentKeyUnderServiceKey(sk, wrapped, ctx);
        return u.ok ? u.key : undefined;
      },
      own() {
        if (mine === undefined || self === undefined) return undefined;
        const ctx = {
          clientId: self.clientId,
          programmeId: msg.programmeId,
          segment: msg.segment,
          epoch: msg.epoch,
        };
        const u = unwrapSegmentKeyForClient(self.clientKey, mine, ctx);
        return u.ok ? u.key : undefined;
      },
    },
  };
}
