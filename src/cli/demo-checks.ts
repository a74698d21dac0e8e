// The claims `keycast demo` checks from what its processes reported, their outputs and the request log. The demo
// exits 0 only when every check holds.
import type { Invoice } from '../billing/rate.js';
import type { SegmentRange } from '../sender/types.js';
import type { DemoCheck, DemoReceiver } from './demo-types.js';

export interface CheckInput {
  readonly receivers: readonly DemoReceiver[];
  readonly ranges: readonly SegmentRange[];
  /** Segments the sender reported (its newest segment + 1). */
  readonly segments: number;
  readonly keysRotated: number;
  readonly inputBytes: number;
  /** Packets the sender sends before its sequence number wraps. */
  readonly wrapAfterPackets: number;
  readonly chainIntact: boolean;
  readonly invoice: Invoice;
}

export function demoChecks(c: CheckInput): DemoCheck[] {
  const get = (name: string): DemoReceiver => {
    const r = c.receivers.find((x) => x.name === name);
    if (r === undefined) throw new Error(`demo: no receiver named ${name}`);
    return r;
  };
  const billed = (r: DemoReceiver, quantity: number) =>
    c.invoice.lines.some((l) => l.client === r.clientId && l.quantity === quantity);
  const subscriber = get('subscriber');
  const buyer = get('pay-per-segment');
  const seg0 = get('segment-0-only');
  const late = get('late-joiner');
  const boundary0 = c.ranges.find((r) => r.segment === 0)?.tsByteEnd;
  const lastEnd = c.ranges.at(-1)?.tsByteEnd;
  return [
    {
      name: `the programme crossed at least two segment boundaries (${c.ranges.length} segments sent)`,
      ok: c.ranges.length >= 3 && c.segments === c.ranges.length,
    },
    { name: 'the sender sent every byte of the input', ok: lastEnd === c.inputBytes },
    ...c.receivers
      .filter((r) => r.entitled)
      .map((r) => ({
        name: `${r.name}: output is exactly the input it was entitled to (segments ${r.segmentsEntitled.join(',')}), from its first decrypted packet`,
        ok: r.identical,
      })),
    ...['subscriber', 'pay-per-segment'].map((name) => ({
      name: `${name}: the whole input, byte for byte`,
      ok: get(name).identical && get(name).outputBytes === c.inputBytes,
    })),
    {
      name: `segment-0-only: output ends exactly at the segment 0/1 boundary (byte ${boundary0 ?? '?'}); segment 1 refused`,
      ok:
        seg0.identical &&
        seg0.expected.fromByte === 0 &&
        seg0.outputBytes === boundary0 &&
        seg0.refusals.some((x) => x.segment === 1 && x.code === 'not_entitled'),
    },
    {
      name: `late-joiner: joined after the sequence number wrapped (sender past packet ${c.wrapAfterPackets}), first decrypted packet has ROC >= 1, identical from there to the end`,
      ok:
        late.joinedAfterSenderPackets !== null &&
        late.joinedAfterSenderPackets >= c.wrapAfterPackets &&
        late.firstDecryptedIndex !== null &&
        late.firstDecryptedIndex >= 0x10000 &&
        late.identical &&
        late.expected.toByte === c.inputBytes &&
        late.outputBytes < c.inputBytes,
    },
    ...c.receivers
      .filter((r) => !r.entitled)
      .map((r) => ({
        name: `${r.name}: decrypted 0 packets and was refused`,
        ok: r.packetsDecrypted === 0 && r.refusals.some((x) => x.code === 'not_entitled'),
      })),
    { name: 'keys rotated during the programme', ok: c.keysRotated > 0 },
    { name: 'request log hash chain intact', ok: c.chainIntact },
    {
      name: 'subscriber: every segment key by multicast under its service key, 0 key requests after its purchase',
      ok:
        subscriber.keyRequests === 0 && c.segments > 0 && subscriber.segmentKeysFromMulticast === c.segments,
    },
    { name: 'subscriber billed one subscription period', ok: billed(subscriber, 1) },
    {
      name: 'pay-per-segment client billed once per segment',
      ok: c.segments > 0 && billed(buyer, c.segments),
    },
    { name: 'segment-0-only client billed one segment', ok: billed(seg0, 1) },
    {
      // pay-per-segment and segment-0-only ask for segment 0 at the same moment: one message carries both copies.
      name: 'segment keys multicast to named clients: receivers asking at once share one message (claims 7-8, 30-31)',
      ok: buyer.segmentKeysAddressed > 0 && seg0.segmentKeysAddressed > 0,
    },
  ];
}
