// Holds packets that arrived before their key, in arrival order, for a bounded time and count.
// Order matters: the output must be the original stream byte for byte, so once one packet waits, later
// ones queue behind it until its key arrives or it expires.

export interface Queued {
  readonly bytes: Uint8Array;
  readonly arrivedAtMs: number;
}

export class PacketQueue {
  readonly #items: Queued[] = [];
  #head = 0;

  constructor(
    readonly maxPackets: number,
    readonly maxAgeMs: number,
  ) {}

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Queued): Queued | undefined {
    this.#items.push(item);
    return this.length > this.maxPackets ? this.shift() : undefined;
  }

  peek(): Queued | undefined {
    return this.#items[this.#head];
  }

  shift(): Queued | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head++;
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
