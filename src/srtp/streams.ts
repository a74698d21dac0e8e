// Per-SSRC SRTP stream contexts: the ROC, the highest sequence number and the replay window.
// One table per sender or receiver, shared across master keys, so the index runs on across a
// key change (RFC 3711 §3.2.1: the ROC belongs to the stream, not to the key).

import type { Ssrc } from '../ids.js';
import { ROC_MODULUS, SEQ_MODULUS, rocOfIndex, seqOfIndex, srtpIndex } from './index-estimate.js';
import { ReplayWindow, SRTP_MIN_REPLAY_WINDOW_PACKETS } from './replay-window.js';
import type { SrtpStreamState } from './types.js';

export class SrtpStreams {
  readonly windowPackets: number;
  readonly #streams = new Map<number, ReplayWindow>();

  constructor(where: string, windowPackets: number) {
    if (!Number.isSafeInteger(windowPackets) || windowPackets < SRTP_MIN_REPLAY_WINDOW_PACKETS) {
      throw new RangeError(`${where}: replayWindowPackets must be an integer >= 64, got ${windowPackets}`);
    }
    this.windowPackets = windowPackets;
  }

  /** The stream's window, or undefined for an SSRC not seen and not set. */
  get(ssrc: Ssrc): ReplayWindow | undefined {
    return this.#streams.get(ssrc);
  }

  state(ssrc: Ssrc): SrtpStreamState | undefined {
    const w = this.#streams.get(ssrc);
    return w === undefined
      ? undefined
      : { roc: rocOfIndex(w.highestIndex), lastSeq: seqOfIndex(w.highestIndex) };
  }

  /** Starts the stream at (roc, lastSeq) with an empty replay window: that packet itself may still come. */
  set(where: string, ssrc: Ssrc, s: SrtpStreamState): void {
    checkUint(where, 'ssrc', ssrc, ROC_MODULUS - 1);
    checkUint(where, 'roc', s.roc, ROC_MODULUS - 1);
    checkUint(where, 'lastSeq', s.lastSeq, SEQ_MODULUS - 1);
    this.#streams.set(ssrc, new ReplayWindow(this.windowPackets, srtpIndex(s.roc, s.lastSeq)));
  }

  /** Records an accepted index; call only after the packet is fully accepted. */
  commit(ssrc: Ssrc, index: number): void {
    let w = this.#streams.get(ssrc);
    if (w === undefined) {
      w = new ReplayWindow(this.windowPackets, index);
      this.#streams.set(ssrc, w);
    }
    w.accept(index);
  }
}

function checkUint(where: string, field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${where}: ${field} must be an integer in 0..${max}, got ${value}`);
  }
}
