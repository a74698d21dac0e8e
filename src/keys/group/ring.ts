// The member side of a session group: a member's own key and the group node keys it has learned. It reads rekey
// entries (from verified group_rekey messages, src/keys/group/rekey-messages.ts), unwraps those meant for it, and
// exposes the current group key (node 1; its version is the group epoch).
//
// Untrusted input: apply never throws and changes nothing for entries it cannot use. An entry is used only when
// its wrapping key is one the ring holds at exactly the named version and it carries a newer version of its node
// than the ring holds. Entries wrapped under a newer version of a node the ring knows (parts of a rekey arriving
// out of order) wait, at most MAX_WAITING of them, and are retried whenever the ring learns a key; entries for
// nodes the ring has never held are ignored (a member learns a new node only through a wrap under its own key).
import { unwrapKey } from '../../crypto/aead-wrap.js';
import { zeroize } from '../../crypto/random.js';
import { GROUP_ROOT_NODE_ID, type GroupRekeyEntry } from '../../packet/group-rekey.js';
import { aadGroupNodeKeyUnderMemberKey, aadGroupNodeKeyUnderNodeKey } from '../aad.js';
import { checkMemberId } from './flat.js';
import { checkGroupKey } from './member-key.js';
import { GROUP_KEY_LENGTH_BYTES, type GroupKey } from './types.js';

export const MAX_WAITING = 1024;

interface Held {
  readonly version: number;
  readonly key: Uint8Array;
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export class GroupKeyRing {
  readonly #memberKey: Uint8Array;
  readonly #held = new Map<number, Held>();
  #waiting: GroupRekeyEntry[] = [];

  constructor(
    readonly programmeId: number,
    readonly memberId: number,
    memberKey: Uint8Array,
  ) {
    checkMemberId(memberId);
    if (!isU32(programmeId))
      throw new RangeError(`group ring: programmeId must be a u32, got ${String(programmeId)}`);
    checkGroupKey(memberKey, 'member key');
    this.#memberKey = memberKey.slice();
  }

  /** The current group key, or undefined before the first one arrives. */
  groupKey(): GroupKey | undefined {
    const g = this.#held.get(GROUP_ROOT_NODE_ID);
    return g === undefined ? undefined : { epoch: g.version, key: g.key.slice() };
  }

  get epoch(): number | undefined {
    return this.#held.get(GROUP_ROOT_NODE_ID)?.version;
  }

  /** Node keys held (for tests: a removed member's ring must not grow). */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Every node held, with its version. */
  held(): Map<number, number> {
    return new Map([...this.#held].map(([node, h]) => [node, h.version]));
  }

  /** Version of node `node` held, if any. */
  versionOf(node: number): number | undefined {
    return this.#held.get(node)?.version;
  }

  /**
   * Unwrap every entry this member can use, in as many passes as needed (entries are sent bottom-up, so one pass
   * usually does). Returns how many keys it learned. Never throws on the entries.
   */
  apply(entries: readonly GroupRekeyEntry[]): number {
    let learned = 0;
    let todo: readonly GroupRekeyEntry[] = entries;
    for (;;) {
      let progress = 0;
      const later: GroupRekeyEntry[] = [];
      for (const e of todo) {
        const r = this.#try(e);
        if (r === 'learned') progress += 1;
        else if (r === 'wait') later.push(e);
      }
      learned += progress;
      if (progress === 0) {
        this.#wait(later, todo === entries);
        return learned;
      }
      todo = [...later, ...this.#waiting];
      this.#waiting = [];
    }
  }

  #wait(later: GroupRekeyEntry[], fresh: boolean): void {
    const all = fresh ? [...this.#waiting, ...later] : later;
    this.#waiting = all.length > MAX_WAITING ? all.slice(all.length - MAX_WAITING) : all;
  }

  #try(e: GroupRekeyEntry): 'learned' | 'wait' | 'useless' {
    if (typeof e !== 'object' || e === null) return 'useless';
    if (!isU32(e.node) || !isU32(e.version) || !isU32(e.underId) || !isU32(e.underVersion)) return 'useless';
    if (!(e.wrapped instanceof Uint8Array)) return 'useless';
    const have = this.#held.get(e.node);
    if (have !== undefined && have.version >= e.version) return 'useless';
    let kek: Uint8Array;
    let aad: Uint8Array;
    if (e.underKind === 'member') {
      if (e.underId !== this.memberId || e.underVersion !== 0) return 'useless';
      kek = this.#memberKey;
      aad = aadGroupNodeKeyUnderMemberKey(this.programmeId, e.node, e.version, this.memberId);
    } else if (e.underKind === 'node') {
      const under = this.#held.get(e.underId);
      if (under === undefined || under.version > e.underVersion) return 'useless';
      if (under.version < e.underVersion) return 'wait';
      kek = under.key;
      aad = aadGroupNodeKeyUnderNodeKey(this.programmeId, e.node, e.version, e.underId, e.underVersion);
    } else return 'useless';
    const u = unwrapKey(kek, e.wrapped, aad);
    if (!u.ok || u.key.length !== GROUP_KEY_LENGTH_BYTES) return 'useless';
    if (have !== undefined) zeroize(have.key);
    this.#held.set(e.node, { version: e.version, key: u.key });
    return 'learned';
  }
}
