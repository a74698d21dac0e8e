// One multicast socket: datagrams to a group on a chosen interface and TTL (127.0.0.1 and 0 keep everything on this
// host), and a close that waits until every datagram has left. The sender's media and key carousel and the key
// server's addressed segment-key messages both go out through one of these.
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';

export class MulticastOut {
  readonly #socket = dgram.createSocket({ type: 'udp4' });
  #inFlight = 0;
  #drained: (() => void) | undefined;

  constructor(
    readonly group: string,
    readonly interfaceAddress: string,
    readonly ttl: number,
    readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(0, this.interfaceAddress, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
    this.#socket.setMulticastInterface(this.interfaceAddress);
    this.#socket.setMulticastTTL(this.ttl);
    this.#socket.setMulticastLoopback(true);
  }

  send(bytes: Uint8Array, port: number): void {
    this.#inFlight++;
    this.#socket.send(bytes, port, this.group, (err) => {
      this.#inFlight--;
      if (err) this.log.warn({ err: err.message, port }, 'send failed');
      if (this.#inFlight === 0) this.#drained?.();
    });
  }

  async close(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/**
 * Checks, before anything is sent, that `address` is an IPv4 address of this host that a multicast socket can use as
 * its interface; throws an error naming it otherwise (an operator's typo must fail at start, not at the first send).
 */
export async function checkMulticastInterface(address: string): Promise<void> {
  if (!isIPv4(address)) throw new Error(`multicast interface ${address} is not an IPv4 address`);
  const socket = dgram.createSocket({ type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    socket.setMulticastInterface(address);
  } catch (err) {
    throw new Error(`multicast interface ${address} is not usable on this host: ${(err as Error).message}`);
  } finally {
    try {
      socket.close();
    } catch {
      // already closed by the failed bind
    }
  }
}
