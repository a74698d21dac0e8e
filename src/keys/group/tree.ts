// lkh and batch modes: a logical key hierarchy (RFC 2627 §5.4; Wallner, Harder, Agee; the tree idea of MLS's
// TreeKEM). Members are the leaves of a binary key tree; every inner node has a key known exactly to the members
// below it; the root (node 1) key is the group key, and the root's version is the group epoch.
//
// Shape and ids:
// - The root has 0, 1 or 2 children (1 only when the group has one member); every other inner node has exactly 2.
// - Inner nodes other than the root get a fresh u32 id when created (2, 3, ...) and are never renumbered; an id
//   is never reused, and a node's version only increases, so (node, version) names one key forever. Leaves are
//   named by member (client) id; their key is the member key, which never changes while the member stays.
// - Join: the new leaf goes down from the root, always towards the child with fewer members (ties: left), and
//   splits the leaf it reaches into a new inner node holding the old leaf and the new one. So the leaf lands at
//   depth <= ceil(log2 N) (N counted after the join): a group built by joins alone is as balanced as can be.
// - Removal: the departed leaf's parent disappears and its sibling takes its place (one level up); if that leaves
//   the root with a single inner child, that child's two children move up to the root. Removals never deepen the
//   tree, so the depth stays <= ceil(log2 of the largest size the group has had); joins refill the lightest side.
//
// Rekey: every node whose set of members below changed (all ancestors of a joined or removed leaf, that still
// exist) gets a fresh key and version+1, bottom-up; each new key is wrapped under the current key of each of its
// children (a refreshed child's new key). A removed member knew only its ancestors' keys: each of them is either
// gone or refreshed, and no new key is wrapped under a key it knew. A newcomer gets its path keys in the same rekey,
// all fresh, so it learns no key used before its join. Each key changes at most once per rekey.
//
// Wraps per rekey: one leave at leaf depth d: 2·(d-1) (2 if d = 1), at most 2·ceil(log2 Npeak) - 2; one join:
// at most 2·ceil(log2 N); a batch: 2 per refreshed node, at most 2·min(inner nodes, changes·depth).
//
// lkh rekeys at every join and remove call; batch changes the tree at once but refreshes keys only at flush(), so
// joins and removals between two flushes fold into one rekey.
import { fillRandom, zeroize } from '../../crypto/random.js';
import { GROUP_ROOT_NODE_ID, type GroupRekeyEntry } from '../../packet/group-rekey.js';
import { checkFirstEpoch, checkMemberId, checkRemoval } from './flat.js';
import {
  checkGroupKey,
  generateNodeKey,
  wrapNodeKeyUnderMember,
  wrapNodeKeyUnderNode,
} from './member-key.js';
import { GROUP_KEY_LENGTH_BYTES, type GroupKey, type GroupKeys, type Rekey } from './types.js';

const NO_MEMBER = -1;
const MAX_U32 = 0xffffffff;

interface TreeNode {
  /** Inner node id; 0 for a leaf. */
  readonly id: number;
  version: number;
  key: Uint8Array;
  parent: TreeNode | undefined;
  left: TreeNode | undefined;
  right: TreeNode | undefined;
  /** Members (leaves) below. */
  size: number;
  /** Client id for a leaf, NO_MEMBER for an inner node. */
  readonly member: number;
}

export class TreeGroupKeys implements GroupKeys {
  readonly #leaves = new Map<number, TreeNode>();
  readonly #dirty = new Set<TreeNode>();
  readonly #root: TreeNode;
  #nextId = GROUP_ROOT_NODE_ID + 1;

  /**
   * Every node's versions start here (the root's is the group epoch): a key server restarted with the epoch after
   * its previous run's last one never names two keys with one (node, version), though node ids start again.
   */
  readonly #firstVersion: number;

  constructor(
    readonly programmeId: number,
    readonly mode: 'lkh' | 'batch',
    members: Iterable<readonly [number, Uint8Array]> = [],
    firstEpoch = 0,
  ) {
    checkFirstEpoch(firstEpoch);
    this.#firstVersion = firstEpoch;
    this.#root = this.#node(GROUP_ROOT_NODE_ID);
    const list = [...members];
    const seen = new Set<number>();
    const leaves = list.map(([id, key]) => {
      checkMemberId(id);
      checkGroupKey(key, 'member key');
      if (seen.has(id)) throw new RangeError(`group: member ${id} is listed twice`);
      seen.add(id);
      return this.#leaf(id, key);
    });
    if (leaves.length === 1) this.#attach(this.#root, 'left', leaves[0]!);
    else if (leaves.length > 1) {
      const mid = Math.ceil(leaves.length / 2);
      this.#attach(this.#root, 'left', this.#build(leaves, 0, mid));
      this.#attach(this.#root, 'right', this.#build(leaves, mid, leaves.length));
    }
    this.#root.size = leaves.length;
  }

  get size(): number {
    return this.#leaves.size;
  }

  get epoch(): number {
    return this.#root.version;
  }

  get pending(): boolean {
    return this.#dirty.size > 0;
  }

  has(memberId: number): boolean {
    return this.#leaves.has(memberId);
  }

  groupKey(): GroupKey {
    return { epoch: this.#root.version, key: this.#root.key.slice() };
  }

  /** Longest root-to-leaf path in edges (0 for an empty group). For tests and the benchmark. */
  depth(): number {
    const walk = (n: TreeNode | undefined, d: number): number =>
      n === undefined ? 0 : n.member !== NO_MEMBER ? d : Math.max(walk(n.left, d + 1), walk(n.right, d + 1));
    return walk(this.#root, 0);
  }

  join(memberId: number, memberKey: Uint8Array): Rekey | undefined {
    checkMemberId(memberId);
    checkGroupKey(memberKey, 'member key');
    if (this.#leaves.has(memberId)) throw new RangeError(`group: member ${memberId} is already in the group`);
    const leaf = this.#leaf(memberId, memberKey);
    const root = this.#root;
    if (root.left === undefined) this.#attach(root, 'left', leaf);
    else if (root.right === undefined) this.#attach(root, 'right', leaf);
    else {
      let n: TreeNode = root;
      while (n.member === NO_MEMBER) n = n.left!.size <= n.right!.size ? n.left! : n.right!;
      const parent = n.parent!;
      const inner = this.#node(this.#freshId());
      this.#replace(parent, n, inner);
      this.#attach(inner, 'left', n);
      this.#attach(inner, 'right', leaf);
      inner.size = 1; // the old leaf; the loop below counts the new one
    }
    for (let a = leaf.parent; a !== undefined; a = a.parent) a.size += 1;
    this.#markDirty(leaf.parent!);
    return this.mode === 'lkh' ? this.flush() : undefined;
  }

  remove(memberIds: readonly number[]): Rekey | undefined {
    checkRemoval(memberIds, (id) => this.#leaves.has(id));
    for (const id of memberIds) this.#removeLeaf(this.#leaves.get(id)!);
    return this.mode === 'lkh' ? this.flush() : undefined;
  }

  flush(): Rekey | undefined {
    if (this.#dirty.size === 0) return undefined;
    const wraps: GroupRekeyEntry[] = [];
    this.#refresh(this.#root, wraps);
    this.#dirty.clear();
    return { programmeId: this.programmeId, mode: this.mode, epoch: this.#root.version, wraps };
  }

  welcome(): Rekey {
    if (this.#dirty.size > 0) throw new RangeError('group: flush the waiting changes before welcome()');
    const wraps: GroupRekeyEntry[] = [];
    const walk = (n: TreeNode): void => {
      if (n.member !== NO_MEMBER) return;
      if (n.left !== undefined) walk(n.left);
      if (n.right !== undefined) walk(n.right);
      this.#wrapUnderChildren(n, wraps);
    };
    walk(this.#root);
    return { programmeId: this.programmeId, mode: this.mode, epoch: this.#root.version, wraps };
  }

  #removeLeaf(leaf: TreeNode): void {
    this.#leaves.delete(leaf.member);
    const p = leaf.parent!;
    for (let a: TreeNode | undefined = p; a !== undefined; a = a.parent) a.size -= 1;
    const root = this.#root;
    if (p === root) {
      if (root.left === leaf) {
        root.left = root.right;
        root.right = undefined;
      } else root.right = undefined;
      const only = root.left;
      if (only !== undefined && only.member === NO_MEMBER) {
        // A lone inner child under the root: its children move up, it goes.
        this.#attach(root, 'left', only.left!);
        this.#attach(root, 'right', only.right!);
        this.#retire(only);
      }
      this.#markDirty(root);
    } else {
      const sibling = p.left === leaf ? p.right! : p.left!;
      const g = p.parent!;
      this.#replace(g, p, sibling);
      this.#retire(p);
      this.#markDirty(g);
    }
    this.#retire(leaf);
  }

  /** Post-order over the dirty nodes (the dirty set holds every ancestor of each of its nodes). */
  #refresh(n: TreeNode, wraps: GroupRekeyEntry[]): void {
    if (n.left !== undefined && this.#dirty.has(n.left)) this.#refresh(n.left, wraps);
    if (n.right !== undefined && this.#dirty.has(n.right)) this.#refresh(n.right, wraps);
    if (n.version >= MAX_U32) throw new RangeError(`group: node ${n.id} version exhausted`);
    // A new key in place: the old one's bytes are overwritten, and a rekey of 58,000 nodes allocates no key arrays.
    if (n.key.length === GROUP_KEY_LENGTH_BYTES) fillRandom(n.key);
    else n.key = generateNodeKey(); // first keying of a node made by a join
    n.version += 1;
    this.#wrapUnderChildren(n, wraps);
  }

  #wrapUnderChildren(n: TreeNode, wraps: GroupRekeyEntry[]): void {
    if (n.left !== undefined) this.#wrapUnder(n, n.left, wraps);
    if (n.right !== undefined) this.#wrapUnder(n, n.right, wraps);
  }

  #wrapUnder(n: TreeNode, c: TreeNode, wraps: GroupRekeyEntry[]): void {
    const p = this.programmeId;
    wraps.push(
      c.member !== NO_MEMBER
        ? {
            node: n.id,
            version: n.version,
            underKind: 'member',
            underId: c.member,
            underVersion: 0,
            wrapped: wrapNodeKeyUnderMember(p, n.id, n.version, n.key, c.member, c.key),
          }
        : {
            node: n.id,
            version: n.version,
            underKind: 'node',
            underId: c.id,
            underVersion: c.version,
            wrapped: wrapNodeKeyUnderNode(p, n.id, n.version, n.key, c.id, c.version, c.key),
          },
    );
  }

  #markDirty(from: TreeNode): void {
    for (let n: TreeNode | undefined = from; n !== undefined && !this.#dirty.has(n); n = n.parent)
      this.#dirty.add(n);
  }

  #build(leaves: readonly TreeNode[], lo: number, hi: number): TreeNode {
    if (hi - lo === 1) return leaves[lo]!;
    const n = this.#node(this.#freshId());
    n.version = this.#firstVersion + 1;
    n.key = generateNodeKey();
    const mid = lo + Math.ceil((hi - lo) / 2);
    this.#attach(n, 'left', this.#build(leaves, lo, mid));
    this.#attach(n, 'right', this.#build(leaves, mid, hi));
    n.size = hi - lo;
    return n;
  }

  #node(id: number): TreeNode {
    const key = id === GROUP_ROOT_NODE_ID ? generateNodeKey() : new Uint8Array(0); // keyed at its first refresh
    return {
      id,
      version: this.#firstVersion,
      key,
      parent: undefined,
      left: undefined,
      right: undefined,
      size: 0,
      member: NO_MEMBER,
    };
  }

  #leaf(memberId: number, memberKey: Uint8Array): TreeNode {
    const leaf: TreeNode = {
      id: 0,
      version: 0,
      key: memberKey.slice(),
      parent: undefined,
      left: undefined,
      right: undefined,
      size: 1,
      member: memberId,
    };
    this.#leaves.set(memberId, leaf);
    return leaf;
  }

  #freshId(): number {
    if (this.#nextId > MAX_U32) throw new RangeError('group: node ids exhausted');
    return this.#nextId++;
  }

  #attach(parent: TreeNode, side: 'left' | 'right', child: TreeNode): void {
    parent[side] = child;
    child.parent = parent;
  }

  #replace(parent: TreeNode, old: TreeNode, by: TreeNode): void {
    if (parent.left === old) parent.left = by;
    else parent.right = by;
    by.parent = parent;
  }

  #retire(n: TreeNode): void {
    this.#dirty.delete(n);
    zeroize(n.key);
    n.parent = n.left = n.right = undefined;
  }
}
