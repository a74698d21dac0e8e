// Valid, signed key messages of every type for the fuzz targets, made with the real wrap and sign code, and the
// fields a mutation should aim at.
import { signEd25519, signingPublicKey } from '../src/crypto/sign.js';
import { asKeyId, asSsrc } from '../src/ids.js';
import {
  GROUP_KEY_WRAP_KEY_ID,
  wrapContentKeyForClient,
  wrapContentKeyUnderGroupKey,
  wrapContentKeyUnderSegmentKey,
  type ContentKey,
} from '../src/keys/content-key.js';
import { signGroupRekey } from '../src/keys/group/index.js';
import { signKeyMessage } from '../src/keys/key-message-sign.js';
import { wrapSegmentKeyForClient } from '../src/keys/segment-key.js';
import { periodNumber, wrapSegmentKeyUnderServiceKey } from '../src/keys/service-key.js';
import {
  KEY_MESSAGE_PROFILE_NAMES,
  KEY_MESSAGE_PROFILES,
  type KeyMessageProfile,
} from '../src/packet/profile-code.js';
import { concat, type Field } from './mutate.js';
import type { Prng } from './prng.js';

export const NOW_MS = 1_800_000_000_000;
/** How long a made message stays valid: short, so that a gate forgets old ones as its clock moves on. */
export const VALID_FOR_MS = 2_000;
export const PROGRAMME_ID = 3;
export const SERVICE_ID = 9;
export const PERIOD = '2027-01';
export const SEGMENT = 5;
export const SEGMENT_EPOCH = 2;
export const GROUP_EPOCH = 0x1_0007; // above 16 bits: the entry carries only the low 16
export const SELF_CLIENT_ID = 42;
const SIGNATURE_BYTES = 64;

/** Every key a valid message is made with; the receiver side holds the same ones. */
export interface KeyMessageKeys {
  readonly serverPrivateKey: Uint8Array;
  readonly serverPublicKey: Uint8Array;
  readonly psk: Uint8Array;
  readonly serviceKey: Uint8Array;
  readonly clientKey: Uint8Array;
  readonly groupKey: Uint8Array;
}

export function keyMessageKeys(rng: Prng): KeyMessageKeys {
  const serverPrivateKey = rng.bytes(32);
  return {
    serverPrivateKey,
    serverPublicKey: signingPublicKey(serverPrivateKey),
    psk: rng.bytes(32),
    serviceKey: rng.bytes(32),
    clientKey: rng.bytes(32),
    groupKey: rng.bytes(32),
  };
}

export type Made =
  | { readonly type: 'content_key'; readonly bytes: Uint8Array; readonly ck: ContentKey }
  | { readonly type: 'segment_key'; readonly bytes: Uint8Array }
  | { readonly type: 'group_rekey'; readonly bytes: Uint8Array };

export function contentKeyMessage(rng: Prng, keys: KeyMessageKeys, messageSeq: number, nowMs = NOW_MS): Made {
  const profile: KeyMessageProfile = rng.pick(KEY_MESSAGE_PROFILE_NAMES);
  const p = KEY_MESSAGE_PROFILES[profile];
  const ck = { masterKey: rng.bytes(p.masterKeyLengthBytes), masterSalt: rng.bytes(p.masterSaltLengthBytes) };
  const keyId = asKeyId(messageSeq);
  const psk = wrapContentKeyUnderSegmentKey(keys.psk, ck, profile, {
    programmeId: PROGRAMME_ID,
    segment: SEGMENT,
    epoch: SEGMENT_EPOCH,
    keyId,
  });
  const group = wrapContentKeyUnderGroupKey(keys.groupKey, ck, profile, PROGRAMME_ID, GROUP_EPOCH, keyId);
  const client = wrapContentKeyForClient(keys.clientKey, ck, profile, SELF_CLIENT_ID, PROGRAMME_ID, keyId);
  const bytes = signKeyMessage(
    {
      type: 'content_key',
      programmeId: PROGRAMME_ID,
      messageSeq,
      issuedAtMs: nowMs,
      keyId,
      ssrc: asSsrc(rng.u32()),
      roc: rng.below(4),
      seq: rng.below(0x10000),
      profile,
      mkiLengthBytes: rng.below(5),
      activatesAtMs: nowMs,
      expiresAtMs: nowMs + VALID_FOR_MS,
      entries: [
        { wrapKind: 'psk', wrapKeyId: SEGMENT, epoch: SEGMENT_EPOCH, wrapped: psk },
        { wrapKind: 'group', wrapKeyId: GROUP_KEY_WRAP_KEY_ID, epoch: GROUP_EPOCH & 0xffff, wrapped: group },
        ...(rng.chance(0.3)
          ? [{ wrapKind: 'client' as const, wrapKeyId: SELF_CLIENT_ID, epoch: 0, wrapped: client }]
          : []),
      ],
    },
    keys.serverPrivateKey,
  );
  return { type: 'content_key', bytes, ck };
}

export function segmentKeyMessage(rng: Prng, keys: KeyMessageKeys, messageSeq: number, nowMs = NOW_MS): Made {
  const ctx = { programmeId: PROGRAMME_ID, segment: SEGMENT, epoch: SEGMENT_EPOCH };
  const underService = wrapSegmentKeyUnderServiceKey(keys.serviceKey, keys.psk, {
    ...ctx,
    serviceId: SERVICE_ID,
    period: PERIOD,
  });
  const forClient = wrapSegmentKeyForClient(keys.clientKey, keys.psk, { ...ctx, clientId: SELF_CLIENT_ID });
  const bytes = signKeyMessage(
    {
      type: 'segment_key',
      programmeId: PROGRAMME_ID,
      messageSeq,
      issuedAtMs: nowMs,
      segment: SEGMENT,
      epoch: SEGMENT_EPOCH,
      activatesAtMs: nowMs,
      expiresAtMs: nowMs + VALID_FOR_MS,
      entries: [
        { wrapKind: 'service', wrapKeyId: SERVICE_ID, epoch: periodNumber(PERIOD), wrapped: underService },
        ...(rng.chance(0.5)
          ? [
              {
                wrapKind: 'client' as const,
                wrapKeyId: SELF_CLIENT_ID,
                epoch: SEGMENT_EPOCH,
                wrapped: forClient,
              },
            ]
          : []),
      ],
    },
    keys.serverPrivateKey,
  );
  return { type: 'segment_key', bytes };
}

/** A group rekey with made-up wraps (the gate does not unwrap them; the group-rekey target does real ones). */
export function groupRekeyMessage(rng: Prng, keys: KeyMessageKeys, messageSeq: number): Made {
  const wraps = Array.from({ length: rng.between(0, 3) }, () => ({
    node: rng.between(1, 15),
    version: rng.below(10),
    underKind: rng.pick(['member', 'node'] as const),
    underId: rng.between(1, 100),
    underVersion: rng.below(10),
    wrapped: rng.bytes(60),
  }));
  const [bytes] = signGroupRekey(
    {
      programmeId: PROGRAMME_ID,
      mode: rng.pick(['flat', 'lkh', 'batch'] as const),
      epoch: rng.below(100),
      wraps,
    },
    { issuedAtMs: NOW_MS, nextMessageSeq: () => messageSeq },
    keys.serverPrivateKey,
  );
  return { type: 'group_rekey', bytes: bytes! };
}

/** `signed` with the server's signature appended: what a key server that signed garbage would send. */
export function resign(signed: Uint8Array, keys: KeyMessageKeys): Uint8Array {
  return concat(signed, signEd25519(keys.serverPrivateKey, signed));
}

export function signedPart(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, Math.max(0, bytes.length - SIGNATURE_BYTES));
}

/** Header and body fields of a key message (src/packet/key-message.ts, group-rekey.ts), by its type byte. */
export function keyMessageFields(b: Uint8Array): Field[] {
  const fields: Field[] = [
    { name: 'version', offset: 0, lengthBytes: 1, values: [0, 2] },
    { name: 'type', offset: 1, lengthBytes: 1, values: [0, 1, 2, 3, 4] },
    { name: 'programmeId', offset: 4, lengthBytes: 4, values: [PROGRAMME_ID + 1] },
    { name: 'messageSeq', offset: 8, lengthBytes: 4 },
    { name: 'issuedAtMs.high', offset: 12, lengthBytes: 4, values: [0x1fffff, 0x200000] },
  ];
  if (b[1] === 1) {
    fields.push(
      { name: 'profile', offset: 34, lengthBytes: 1, values: [0, 1, 2, 3, 7, 8] },
      { name: 'mkiLengthBytes', offset: 35, lengthBytes: 1, values: [4, 5] },
      { name: 'expiresAtMs.high', offset: 44, lengthBytes: 4, values: [0, 0x200000] },
      { name: 'entryCount', offset: 52, lengthBytes: 2, values: [0, 1, 2, 3, 4] },
      { name: 'entry0.wrapKind', offset: 54, lengthBytes: 1, values: [0, 1, 2, 3, 4, 5] },
      { name: 'entry0.wrappedLength', offset: 61, lengthBytes: 2 },
    );
  } else if (b[1] === 2) {
    fields.push(
      { name: 'expiresAtMs.high', offset: 34, lengthBytes: 4, values: [0, 0x200000] },
      { name: 'entryCount', offset: 42, lengthBytes: 2, values: [0, 1, 2, 3] },
      { name: 'entry0.wrapKind', offset: 44, lengthBytes: 1, values: [0, 1, 2, 3, 4, 5] },
      { name: 'entry0.wrappedLength', offset: 51, lengthBytes: 2 },
    );
  } else if (b[1] === 3) {
    fields.push(
      { name: 'mode', offset: 24, lengthBytes: 1, values: [0, 1, 2, 3, 4] },
      { name: 'entryCount', offset: 26, lengthBytes: 2, values: [0, 1, 2, 3, 4] },
      { name: 'part', offset: 28, lengthBytes: 4, values: [0, 1] },
      { name: 'parts', offset: 32, lengthBytes: 4, values: [0, 1, 2] },
      { name: 'entry0.underKind', offset: 44, lengthBytes: 1, values: [0, 1, 2, 3] },
      { name: 'entry0.wrappedLength', offset: 53, lengthBytes: 2 },
    );
  }
  return fields;
}
