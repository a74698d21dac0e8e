// A rekey on the wire: split into group_rekey messages (src/packet/group-rekey.ts) of at most MAX_DATAGRAM_BYTES
// each, every entry in exactly one, each message signed once with the key server's Ed25519 key (claims 23, 30).
import { signEd25519, verifyEd25519 } from '../../crypto/sign.js';
import {
  chunkGroupRekeyEntries,
  decodeGroupRekey,
  groupRekeySignedSize,
  writeGroupRekeySignedPart,
  type GroupRekeyMessage,
  type GroupRekeyRejectReason,
  type SignedGroupRekeyMessage,
} from '../../packet/group-rekey.js';
import type { GroupKeyRing } from './ring.js';
import type { Rekey } from './types.js';

/** Every datagram stays under 1200 bytes (as src/server/segment-key-batch.ts). */
export const GROUP_REKEY_MAX_DATAGRAM_BYTES = 1199;
const SIGNATURE_LENGTH_BYTES = 64;

export interface GroupRekeySendOptions {
  readonly issuedAtMs: number;
  /** Called once per message, in order: the programme's next key message sequence number. */
  readonly nextMessageSeq: () => number;
  readonly maxDatagramBytes?: number;
}

/** Sign `rekey` as one or more group_rekey messages, in order (bottom-up entries keep their order). */
export function signGroupRekey(
  rekey: Rekey,
  opts: GroupRekeySendOptions,
  serverPrivateKey: Uint8Array,
): Uint8Array[] {
  const chunks = chunkGroupRekeyEntries(rekey.wraps, opts.maxDatagramBytes ?? GROUP_REKEY_MAX_DATAGRAM_BYTES);
  return chunks.map((entries, part) => {
    const msg: GroupRekeyMessage = {
      type: 'group_rekey',
      programmeId: rekey.programmeId,
      messageSeq: opts.nextMessageSeq(),
      issuedAtMs: opts.issuedAtMs,
      groupEpoch: rekey.epoch,
      mode: rekey.mode,
      part,
      parts: chunks.length,
      entries,
    };
    const signedLength = groupRekeySignedSize(msg);
    const out = new Uint8Array(signedLength + SIGNATURE_LENGTH_BYTES);
    writeGroupRekeySignedPart(msg, out, 0);
    out.set(signEd25519(serverPrivateKey, out.subarray(0, signedLength)), signedLength);
    return out;
  });
}

export type VerifyGroupRekeyResult =
  | { readonly ok: true; readonly msg: SignedGroupRekeyMessage }
  | {
      readonly ok: false;
      readonly reason: GroupRekeyRejectReason | 'bad_signature';
      readonly need?: number;
      readonly have?: number;
    };

/** Decode a group_rekey datagram and check the server's signature. Untrusted input: never throws. */
export function verifyGroupRekey(bytes: Uint8Array, serverPublicKey: Uint8Array): VerifyGroupRekeyResult {
  const d = decodeGroupRekey(bytes);
  if (!d.ok) return d;
  if (!verifyEd25519(serverPublicKey, d.msg.signedBytes, d.msg.signature))
    return { ok: false, reason: 'bad_signature' };
  return d;
}

export type ApplyGroupRekeyResult =
  | { readonly ok: true; readonly epoch: number; readonly learned: number }
  | { readonly ok: false; readonly reason: GroupRekeyRejectReason | 'bad_signature' | 'wrong_programme' };

/**
 * A member's handling of one group_rekey datagram: verify, check the programme, apply the entries to its ring.
 * Untrusted input: never throws; a rejected datagram changes nothing in the ring.
 */
export function applyGroupRekeyDatagram(
  ring: GroupKeyRing,
  bytes: Uint8Array,
  serverPublicKey: Uint8Array,
): ApplyGroupRekeyResult {
  const v = verifyGroupRekey(bytes, serverPublicKey);
  if (!v.ok) return { ok: false, reason: v.reason };
  if (v.msg.programmeId !== ring.programmeId) return { ok: false, reason: 'wrong_programme' };
  const learned = ring.apply(v.msg.entries);
  return { ok: true, epoch: v.msg.groupEpoch, learned };
}
