// Catch-up (added by the key-server work of issue 4, not part of the group key library proper): of the wraps of one
// or more rekeys, those a given member can use, i.e. the wraps under its own member key and, transitively, the
// wraps under a node key one of those carries. The key server sends them to a newly joined member in its join
// answer and to a member that missed rekey datagrams (POST /v1/sessions/keys), so nobody gets wraps meant for others.
import type { GroupRekeyEntry } from './types.js';

/** The wraps `memberId` can open, in their original order (bottom-up order is kept). */
export function wrapsForMember(wraps: readonly GroupRekeyEntry[], memberId: number): GroupRekeyEntry[] {
  const reached = new Set<string>(); // "node/version" the member can learn
  const used = new Set<GroupRekeyEntry>();
  for (let progress = true; progress;) {
    progress = false;
    for (const e of wraps) {
      if (used.has(e)) continue;
      const usable =
        e.underKind === 'member' ? e.underId === memberId : reached.has(`${e.underId}/${e.underVersion}`);
      if (!usable) continue;
      used.add(e);
      reached.add(`${e.node}/${e.version}`);
      progress = true;
    }
  }
  return wraps.filter((e) => used.has(e));
}
