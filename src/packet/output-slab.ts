// Output buffers cut from a slab that belongs to one owner: an SRTP sender or receiver for its packets
// (src/srtp/), the key wrap for wrapped keys (src/crypto/aead-wrap.ts).
//
// A fresh `new Uint8Array(n)` over 64 bytes costs about 0.5-1 µs (a zero-filled backing store of its own, counted
// as external memory, and more work for the GC): as much as the AES-GCM of a 1200-byte packet in the native addon.
// A view into a 64 KiB slab costs about a tenth of that. Each output handed out is a view with its own byteOffset
// and byteLength; its `.buffer` also holds the same owner's other outputs (ciphertext, wrapped keys, or plaintext
// packets that receiver decrypted), never another owner's, never key material (unwrapped keys are never cut from a
// slab). Use the view, not its `.buffer`, as every caller in keycast does.

const SLAB_BYTES = 64 * 1024;
/** Bigger outputs get an array of their own: a slab holds at least 8 of the largest it serves. */
const SLAB_MAX_OUTPUT_BYTES = SLAB_BYTES / 8;

export class OutputSlab {
  #slab = new ArrayBuffer(0);
  #used = 0;

  /** A zero-length or fresh view of `n` bytes for the caller to fill. */
  take(n: number): Uint8Array {
    if (n > SLAB_MAX_OUTPUT_BYTES) return new Uint8Array(n);
    if (this.#used + n > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#used = 0;
    }
    const view = new Uint8Array(this.#slab, this.#used, n);
    this.#used += (n + 7) & ~7; // 8-byte aligned starts
    return view;
  }

  /** Gives back the view `take` returned last (a packet that failed): its bytes are reused by the next one. */
  giveBack(view: Uint8Array): void {
    if (view.buffer === this.#slab && view.byteOffset + ((view.byteLength + 7) & ~7) === this.#used) {
      this.#used = view.byteOffset;
    }
  }
}
