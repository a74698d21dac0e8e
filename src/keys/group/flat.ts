// flat mode, what the claims describe (14, 19, 23, 30): one group key, wrapped once per member under that member's
// key. A removal makes a new group key wrapped once per remaining member (N-k wraps for k removed at once). A join
// makes a new group key too (backward secrecy: the newcomer cannot read earlier group keys) but wraps it only
// twice: under the previous group key (every earlier member holds it, and no removed member does: each removal
// replaced it with a key they never got) and under the newcomer's member key.
import { zeroize } from '../../crypto/random.js';
import { GROUP_ROOT_NODE_ID, type GroupRekeyEntry } from '../../packet/group-rekey.js';
import {
  checkGroupKey,
  generateNodeKey,
  wrapNodeKeyUnderMember,
  wrapNodeKeyUnderNode,
} from './member-key.js';
import type { GroupKey, GroupKeys, Rekey } from './types.js';

export class FlatGroupKeys implements GroupKeys {
  readonly mode = 'flat' as const;
  readonly pending = false;
  readonly #members = new Map<number, Uint8Array>();
  #key = generateNodeKey();
  #epoch = 0;

  constructor(
    readonly programmeId: number,
    members: Iterable<readonly [number, Uint8Array]> = [],
    firstEpoch = 0,
  ) {
    checkFirstEpoch(firstEpoch);
    this.#epoch = firstEpoch;
    for (const [id, key] of members) this.#add(id, key);
  }

  get size(): number {
    return this.#members.size;
  }

  get epoch(): number {
    return this.#epoch;
  }

  has(memberId: number): boolean {
    return this.#members.has(memberId);
  }

  groupKey(): GroupKey {
    return { epoch: this.#epoch, key: this.#key.slice() };
  }

  join(memberId: number, memberKey: Uint8Array): Rekey {
    this.#add(memberId, memberKey);
    const old = this.#key;
    const oldEpoch = this.#epoch;
    this.#next();
    const wraps: GroupRekeyEntry[] = [];
    if (this.#members.size > 1) {
      wraps.push({
        node: GROUP_ROOT_NODE_ID,
        version: this.#epoch,
        underKind: 'node',
        underId: GROUP_ROOT_NODE_ID,
        underVersion: oldEpoch,
        wrapped: wrapNodeKeyUnderNode(
          this.programmeId,
          GROUP_ROOT_NODE_ID,
          this.#epoch,
          this.#key,
          GROUP_ROOT_NODE_ID,
          oldEpoch,
          old,
        ),
      });
    }
    zeroize(old);
    wraps.push(this.#wrapFor(memberId, this.#members.get(memberId)!));
    return this.#rekey(wraps);
  }

  remove(memberIds: readonly number[]): Rekey {
    checkRemoval(memberIds, (id) => this.#members.has(id));
    for (const id of memberIds) {
      zeroize(this.#members.get(id)!);
      this.#members.delete(id);
    }
    zeroize(this.#key);
    this.#next();
    return this.welcome();
  }

  flush(): undefined {
    return undefined;
  }

  welcome(): Rekey {
    const wraps: GroupRekeyEntry[] = [];
    for (const [id, key] of this.#members) wraps.push(this.#wrapFor(id, key));
    return this.#rekey(wraps);
  }

  #add(memberId: number, memberKey: Uint8Array): void {
    checkMemberId(memberId);
    checkGroupKey(memberKey, 'member key');
    if (this.#members.has(memberId))
      throw new RangeError(`group: member ${memberId} is already in the group`);
    this.#members.set(memberId, memberKey.slice());
  }

  #next(): void {
    if (this.#epoch >= 0xffffffff) throw new RangeError('group: epoch exhausted');
    this.#epoch += 1;
    this.#key = generateNodeKey();
  }

  #wrapFor(memberId: number, memberKey: Uint8Array): GroupRekeyEntry {
    return {
      node: GROUP_ROOT_NODE_ID,
      version: this.#epoch,
      underKind: 'member',
      underId: memberId,
      underVersion: 0,
      wrapped: wrapNodeKeyUnderMember(
        this.programmeId,
        GROUP_ROOT_NODE_ID,
        this.#epoch,
        this.#key,
        memberId,
        memberKey,
      ),
    };
  }

  #rekey(wraps: readonly GroupRekeyEntry[]): Rekey {
    return { programmeId: this.programmeId, mode: this.mode, epoch: this.#epoch, wraps };
  }
}

export function checkMemberId(memberId: number): void {
  if (!Number.isInteger(memberId) || memberId < 0 || memberId > 0xffffffff)
    throw new RangeError(`group: member id must be a u32, got ${memberId}`);
}

/** Programmer misuse: an empty list, a duplicate, or someone who is not a member. */
export function checkRemoval(memberIds: readonly number[], isMember: (id: number) => boolean): void {
  if (memberIds.length === 0) throw new RangeError('group: remove needs at least one member id');
  const seen = new Set<number>();
  for (const id of memberIds) {
    if (seen.has(id)) throw new RangeError(`group: member ${id} is listed twice`);
    seen.add(id);
    if (!isMember(id)) throw new RangeError(`group: ${id} is not a member`);
  }
}

/** A group's first epoch: a u32 that leaves room to rekey (a restarted key server starts after its last one). */
export function checkFirstEpoch(firstEpoch: number): void {
  if (!Number.isInteger(firstEpoch) || firstEpoch < 0 || firstEpoch >= 0xffffffff)
    throw new RangeError(`group: firstEpoch must be an integer in 0..2^32-2, got ${firstEpoch}`);
}
