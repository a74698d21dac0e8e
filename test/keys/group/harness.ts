// A simulated key server and its members for the group-key tests: every rekey goes through signGroupRekey →
// datagrams (each checked < 1200 bytes) → applyGroupRekeyDatagram on every ring that listens, members and
// removed members alike (a removed member keeps listening, as an attacker would).
import { expect } from 'vitest';
import { generateSigningKeyPair } from '../../../src/crypto/sign.js';
import {
  applyGroupRekeyDatagram,
  createGroupKeys,
  generateMemberKey,
  GroupKeyRing,
  signGroupRekey,
  type GroupKeys,
  type GroupMode,
  type Rekey,
} from '../../../src/keys/group/index.js';

export const PROGRAMME = 7;
const server = generateSigningKeyPair();
export const serverPublicKey = server.publicKey;

export class Sim {
  readonly group: GroupKeys;
  readonly members = new Map<number, GroupKeyRing>();
  readonly removed: GroupKeyRing[] = [];
  /** For each member, the highest version of each node published before it joined. */
  readonly before = new Map<GroupKeyRing, Map<number, number>>();
  readonly history: Uint8Array[] = [];
  readonly rekeys: Rekey[] = [];
  /** Highest version published per node, to check versions only increase. */
  readonly published = new Map<number, number>();
  peak = 0;
  #nextClient = 1000;
  #seq = 0;

  constructor(readonly mode: GroupMode) {
    this.group = createGroupKeys(mode, PROGRAMME);
  }

  join(): { id: number; rekey: Rekey | undefined } {
    const id = this.#nextClient++;
    const memberKey = generateMemberKey();
    const ring = new GroupKeyRing(PROGRAMME, id, memberKey);
    // A member that joins later can unwrap nothing sent before its join.
    for (const d of this.history) expect(this.#deliver(ring, d)).toBe(0);
    this.members.set(id, ring);
    this.before.set(ring, new Map(this.published));
    const rekey = this.group.join(id, memberKey);
    this.peak = Math.max(this.peak, this.group.size);
    if (rekey !== undefined) this.send(rekey);
    return { id, rekey };
  }

  remove(ids: readonly number[]): Rekey | undefined {
    for (const id of ids) {
      this.removed.push(this.members.get(id)!);
      this.members.delete(id);
    }
    const rekey = this.group.remove(ids);
    if (rekey !== undefined) this.send(rekey);
    return rekey;
  }

  flush(): Rekey | undefined {
    const rekey = this.group.flush();
    if (rekey !== undefined) this.send(rekey);
    return rekey;
  }

  send(rekey: Rekey): Uint8Array[] {
    this.rekeys.push(rekey);
    const versions = new Map<number, number>();
    for (const w of rekey.wraps) {
      // One key per node per rekey, and a version never published before.
      const v = versions.get(w.node);
      if (v === undefined) {
        expect(w.version).toBeGreaterThan(this.published.get(w.node) ?? -1);
        versions.set(w.node, w.version);
      } else expect(w.version).toBe(v);
    }
    for (const [n, v] of versions) this.published.set(n, v);
    const datagrams = signGroupRekey(
      rekey,
      { issuedAtMs: 1_000, nextMessageSeq: () => this.#seq++ },
      server.privateKey,
    );
    for (const d of datagrams) {
      expect(d.length).toBeLessThan(1200);
      this.history.push(d);
      for (const ring of this.members.values()) this.#deliver(ring, d);
      // A removed member can unwrap nothing sent after its removal.
      for (const ring of this.removed) expect(this.#deliver(ring, d)).toBe(0);
    }
    return datagrams;
  }

  /** Every current member holds the server's current group key (when no batch is waiting). */
  checkAllHoldGroupKey(): void {
    this.checkNoKeyFromBeforeJoin();
    if (this.group.pending) return;
    const g = this.group.groupKey();
    for (const [id, ring] of this.members) {
      const k = ring.groupKey();
      expect({ id, epoch: k?.epoch, key: k && Buffer.from(k.key).toString('hex') }).toEqual({
        id,
        epoch: g.epoch,
        key: Buffer.from(g.key).toString('hex'),
      });
    }
  }

  /** No member holds a key (node, version) that was published before it joined (backward secrecy). */
  checkNoKeyFromBeforeJoin(): void {
    for (const ring of this.members.values()) {
      const before = this.before.get(ring)!;
      for (const [node, version] of ring.held())
        expect({ node, version }).toEqual({ node, version: Math.max(version, (before.get(node) ?? -1) + 1) });
    }
  }

  #deliver(ring: GroupKeyRing, d: Uint8Array): number {
    const r = applyGroupRekeyDatagram(ring, d, serverPublicKey);
    expect(r.ok).toBe(true);
    return r.ok ? r.learned : 0;
  }
}
