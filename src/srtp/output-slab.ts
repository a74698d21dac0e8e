// Output buffers for protect and unprotect, cut from a slab that belongs to one sender or receiver.
//
// A fresh `new Uint8Array(n)` costs about 1 µs at packet sizes (a zero-filled backing store of its own, counted as
// external memory): as much as the AES-GCM of a 1200-byte packet in the native addon. A view into a 64 KiB slab
// costs about a tenth of that. Each packet handed out is a view with its own byteOffset and byteLength; its
// `.buffer` also holds this sender's or receiver's other packets (ciphertext, or plaintext this receiver decrypted),
// never another object's, never key material. Use the view, not its `.buffer`, as every caller in keycast does.

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
