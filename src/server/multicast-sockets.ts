// The key server's multicast sockets, shared by segment-key delivery to named clients (segment-key-batch.ts) and
// group rekeys (sessions.ts): one socket per group on the configured interface and TTL (127.0.0.1 and 0 keep
// everything on this host), each message sent three times so that a lost datagram is harmless.
import { pino, type Logger } from 'pino';
import { MulticastOut } from '../net/multicast-out.js';

/** When each message is sent, in ms after the first send: a lost datagram costs nothing. */
export const REPEAT_AT_MS = [0, 100, 300] as const;

export interface MulticastSocketOptions {
  /** Interface to multicast on (127.0.0.1 keeps everything on this host). */
  readonly interfaceAddress: string;
  readonly ttl: number;
}

export class MulticastSockets {
  readonly #sockets = new Map<string, Promise<MulticastOut>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(
    readonly opts: MulticastSocketOptions,
    readonly log: Logger | undefined,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** The socket for `group`, opened on first use (a failed open is retried by the next caller). */
  socket(group: string): Promise<MulticastOut> {
    let s = this.#sockets.get(group);
    if (s === undefined) {
      const out = new MulticastOut(
        group,
        this.opts.interfaceAddress,
        this.opts.ttl,
        this.log ?? pino({ enabled: false }),
      );
      s = out.open().then(
        () => out,
        (err: unknown) => {
          this.#sockets.delete(group);
          throw err;
        },
      );
      this.#sockets.set(group, s);
    }
    return s;
  }

  /** Sends `messages` to group:port now and again at each REPEAT_AT_MS; resolves after the first send. */
  async sendRepeated(group: string, port: number, messages: readonly Uint8Array[]): Promise<void> {
    if (this.#closed || messages.length === 0) return;
    const socket = await this.socket(group);
    for (const at of REPEAT_AT_MS) {
      const send = () => {
        for (const m of messages) socket.send(m, port);
      };
      if (at === 0) send();
      else this.later(at, send);
    }
  }

  /** A timer that close() cancels. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** Drops the repeats not sent yet and closes the sockets once what was sent has left. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const sockets = await Promise.allSettled(this.#sockets.values());
    await Promise.all(sockets.map((s) => (s.status === 'fulfilled' ? s.value.close() : Promise.resolve())));
  }
}
