// The group-key managers' common shape (src/keys/group/): a programme's session group has one group key; a rekey
// is the list of wraps to multicast so that every current member, and nobody else, can recover the new one.
import type { GroupMode, GroupRekeyEntry } from '../../packet/group-rekey.js';

export type { GroupMode, GroupRekeyEntry } from '../../packet/group-rekey.js';
export { GROUP_ROOT_NODE_ID } from '../../packet/group-rekey.js';

/** Length of every group key, node key and member key (AES-256-GCM key-encryption keys). */
export const GROUP_KEY_LENGTH_BYTES = 32;

/**
 * One rekey: the wraps to multicast, ordered bottom-up (a wrap's wrapping key is always carried by an earlier wrap
 * of the same rekey, or already held by the members it is meant for). After it, the group key is node 1 at
 * version `epoch`.
 */
export interface Rekey {
  readonly programmeId: number;
  readonly mode: GroupMode;
  readonly epoch: number;
  readonly wraps: readonly GroupRekeyEntry[];
}

export interface GroupKey {
  readonly epoch: number;
  /** A copy: the caller may zeroize it. */
  readonly key: Uint8Array;
}

/**
 * Key-server side of one programme's session group. Members are client ids (u32), each holding an individual
 * 32-byte member key (claim 15, src/keys/group/member-key.ts). Misuse (joining a member twice, removing a stranger,
 * a key of the wrong length) throws.
 *
 * flat and lkh rekey at once: join and remove return the rekey, flush returns undefined. batch queues: join and
 * remove change the membership at once but return undefined; flush folds everything since the last flush into one
 * rekey (each tree key changes at most once) or returns undefined if nothing changed.
 */
export interface GroupKeys {
  readonly mode: GroupMode;
  readonly programmeId: number;
  /** Current members (for batch: including joins not flushed yet, excluding removals not flushed yet). */
  readonly size: number;
  /** Group epoch = version of the current group key; only ever increases, by one per rekey. */
  readonly epoch: number;
  /** True when batch has changes waiting for flush. */
  readonly pending: boolean;
  has(memberId: number): boolean;
  groupKey(): GroupKey;
  join(memberId: number, memberKey: Uint8Array): Rekey | undefined;
  remove(memberIds: readonly number[]): Rekey | undefined;
  flush(): Rekey | undefined;
  /**
   * Every current key wrapped for its current holders, at the current versions (nothing is rekeyed): what a group
   * built from a member list (createGroupKeys with members) multicasts first, or resends after a restart.
   * Throws if a batch has changes waiting (a waiting joiner must not get the keys before the rekey).
   */
  welcome(): Rekey;
}
