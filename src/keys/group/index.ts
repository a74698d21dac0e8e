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
 * A group for `programmeId` in `mode`, empty or holding `members` (client id, member key) from the start at epoch
 * `firstEpoch` (default 0; a restarted key server passes the epoch after its previous run's last, so no (node,
 * version) ever names two keys). Call welcome() for the wraps that hand the members their keys.
 */
export function createGroupKeys(
  mode: GroupMode,
  programmeId: number,
  members: Iterable<readonly [number, Uint8Array]> = [],
  firstEpoch = 0,
): GroupKeys {
  if (!Number.isInteger(programmeId) || programmeId < 0 || programmeId > 0xffffffff)
    throw new RangeError(`group: programmeId must be a u32, got ${programmeId}`);
  return mode === 'flat'
    ? new FlatGroupKeys(programmeId, members, firstEpoch)
    : new TreeGroupKeys(programmeId, mode, members, firstEpoch);
}
