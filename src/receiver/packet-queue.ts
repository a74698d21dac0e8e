// Holds packets that arrived before their key, in arrival order, for a bounded time and count.
// Order matters: the output must be the original stream byte for byte, so once one packet waits, later
// ones queue behind it (already decrypted, if their key is held) until its key arrives or it expires.

import type { KeyId, Ssrc } from '../ids.js';

export interface Queued {
  readonly bytes: Uint8Array;
  readonly arrivedAtMs: number;
  /** Set when the packet authenticated on arrival and only waits for its turn. */
  readonly decrypted?: {
    readonly packet: Uint8Array;
    readonly payloadStart: number;
    readonly payloadEnd: number;
    readonly index: number;
    readonly ssrc: Ssrc;
    readonly keyId: KeyId;
  };
}

export class PacketQueue {
  readonly #items: Queued[] = [];
  #head = 0;

  constructor(
    readonly maxPackets: number,
    readonly maxAgeMs: number,
  ) {}

  #decrypted = 0;

  /** Queued packets that are already decrypted. */
  get decryptedCount(): number {
    return this.#decrypted;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Queued): Queued | undefined {
    this.#items.push(item);
    if (item.decrypted) this.#decrypted++;
    return this.length > this.maxPackets ? this.shift() : undefined;
  }

  peek(): Queued | undefined {
    return this.#items[this.#head];
  }

  shift(): Queued | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head++;
    if (item.decrypted) this.#decrypted--;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  isExpired(item: Queued, nowMs: number): boolean {
    return nowMs - item.arrivedAtMs > this.maxAgeMs;
  }
}
