// The per-SSRC index state: the highest packet index and a sliding replay window behind it
// (RFC 3711 §3.3.2). Indices are 48-bit numbers: arithmetic only, never a shift on the index.

export const SRTP_MIN_REPLAY_WINDOW_PACKETS = 64; // RFC 3711 §3.3.2, "SRTP-WINDOW-SIZE MUST be at least 64"
export const SRTP_DEFAULT_REPLAY_WINDOW_PACKETS = 128;

export class ReplayWindow {
  readonly sizePackets: number;
  /** Bit (index mod sizePackets) is set when that index, within the window, was accepted. */
  readonly #bits: Uint32Array;
  #highest: number;

  /** Starts with `highestIndex` as the reference point and nothing received. */
  constructor(sizePackets: number, highestIndex: number) {
    this.sizePackets = sizePackets;
    this.#bits = new Uint32Array(Math.ceil(sizePackets / 32));
    this.#highest = highestIndex;
  }

  get highestIndex(): number {
    return this.#highest;
  }

  /** Whether `index` may be accepted: ahead of the highest, or inside the window and not seen. */
  accepts(index: number): boolean {
    if (index > this.#highest) return true;
    if (this.#highest - index >= this.sizePackets) return false;
    return !this.#has(index);
  }

  /** Records `index` as received; moves the window forward when it is a new highest. */
  accept(index: number): void {
    if (index > this.#highest) {
      const advance = index - this.#highest;
      if (advance >= this.sizePackets) {
        this.#bits.fill(0);
      } else {
        for (let i = this.#highest + 1; i <= index; i++) this.#set(i, false);
      }
      this.#highest = index;
    }
    this.#set(index, true);
  }

  #has(index: number): boolean {
    const bit = index % this.sizePackets;
    return ((this.#bits[Math.floor(bit / 32)]! >>> (bit % 32)) & 1) === 1;
  }

  #set(index: number, on: boolean): void {
    const bit = index % this.sizePackets;
    const word = Math.floor(bit / 32);
    const mask = (1 << (bit % 32)) >>> 0;
    this.#bits[word] = on ? this.#bits[word]! | mask : this.#bits[word]! & ~mask;
  }
}
