// Member keys (claim 15): the key server generates one individual key per member of a session group and hands it
// to the client wrapped under the client's wrap key. Node keys of the group tree are wrapped under member keys and
// under each other (src/keys/group/tree.ts, flat.ts); the AAD of each names exactly which key is under which.
import { unwrapKey, wrapKey, type UnwrapResult } from '../../crypto/aead-wrap.js';
import { randomBytes } from '../../crypto/random.js';
import { aadGroupNodeKeyUnderMemberKey, aadGroupNodeKeyUnderNodeKey, aadMemberKeyForClient } from '../aad.js';
import { GROUP_KEY_LENGTH_BYTES } from './types.js';

export function generateMemberKey(): Uint8Array {
  return randomBytes(GROUP_KEY_LENGTH_BYTES);
}

/** A fresh random node key (also the group key when the node is the root). */
export function generateNodeKey(): Uint8Array {
  return randomBytes(GROUP_KEY_LENGTH_BYTES);
}

export function checkGroupKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== GROUP_KEY_LENGTH_BYTES)
    throw new RangeError(`${what} must be ${GROUP_KEY_LENGTH_BYTES} bytes`);
}

/** Member key for `clientId` in `programmeId`'s group, wrapped under the client's wrap key (deriveClientWrapKey). */
export function wrapMemberKeyForClient(
  clientWrapKey: Uint8Array,
  clientId: number,
  programmeId: number,
  memberKey: Uint8Array,
): Uint8Array {
  checkGroupKey(memberKey, 'member key');
  return wrapKey(clientWrapKey, memberKey, aadMemberKeyForClient(clientId, programmeId));
}

/** Client side of wrapMemberKeyForClient. Untrusted bytes: never throws on them. */
export function unwrapMemberKeyForClient(
  clientWrapKey: Uint8Array,
  clientId: number,
  programmeId: number,
  wrapped: Uint8Array,
): UnwrapResult {
  const u = unwrapKey(clientWrapKey, wrapped, aadMemberKeyForClient(clientId, programmeId));
  if (u.ok && u.key.length !== GROUP_KEY_LENGTH_BYTES) return { ok: false, reason: 'auth_fail' };
  return u;
}

export function wrapNodeKeyUnderMember(
  programmeId: number,
  node: number,
  version: number,
  key: Uint8Array,
  memberId: number,
  memberKey: Uint8Array,
): Uint8Array {
  return wrapKey(memberKey, key, aadGroupNodeKeyUnderMemberKey(programmeId, node, version, memberId));
}

export function wrapNodeKeyUnderNode(
  programmeId: number,
  node: number,
  version: number,
  key: Uint8Array,
  underNode: number,
  underVersion: number,
  underKey: Uint8Array,
): Uint8Array {
  return wrapKey(
    underKey,
    key,
    aadGroupNodeKeyUnderNodeKey(programmeId, node, version, underNode, underVersion),
  );
}
