// Group keys of a programme's session (claims 13-15, 19, 23; ../shared/DESIGN.md "Membership and rekeying"):
// key-server managers in three modes behind one interface, the member-side ring, member keys, and the wire form.
import { FlatGroupKeys } from './flat.js';
import { TreeGroupKeys } from './tree.js';
import type { GroupKeys, GroupMode } from './types.js';

export { FlatGroupKeys } from './flat.js';
export { TreeGroupKeys } from './tree.js';
export { GroupKeyRing } from './ring.js';
export * from './member-key.js';
export * from './rekey-messages.js';
export * from './types.js';

/**
 * A group for `programmeId` in `mode`, empty or holding `members` (client id, member key) from the start at epoch 0
 * (call welcome() for the wraps that hand them their keys).
 */
export function createGroupKeys(
  mode: GroupMode,
  programmeId: number,
  members: Iterable<readonly [number, Uint8Array]> = [],
): GroupKeys {
  if (!Number.isInteger(programmeId) || programmeId < 0 || programmeId > 0xffffffff)
    throw new RangeError(`group: programmeId must be a u32, got ${programmeId}`);
  return mode === 'flat'
    ? new FlatGroupKeys(programmeId, members)
    : new TreeGroupKeys(programmeId, mode, members);
}
