// The key-message path of a receiver: the decoders (src/packet/key-message.ts, group-rekey.ts), signature check and
// opening (src/receiver/open-key-message.ts), and the gate (src/receiver/key-message-gate.ts), with valid messages
// of every type signed by the real key server code, mutants of them and random datagrams.
//
// Per case: the decoders never throw, and what they decode encodes back to the same bytes; a mutant of a signed
// message is never admitted, and its rejection leaves the gate as it was; a fresh valid message is still admitted
// and opens under the right keys after any amount of garbage, and a repeat of one is a duplicate. A second gate
// takes mutants the server re-signed (what a key server bug could send): there anything may be admitted, but
// nothing throws, opening its copies never throws, and a rejection leaves that gate as it was.
import { asProgrammeId, type KeyId } from '../../src/ids.js';
import { encodeGroupRekey } from '../../src/packet/group-rekey.js';
import { decodeAnyKeyMessage, decodeKeyMessage, encodeKeyMessage } from '../../src/packet/key-message.js';
import { KeyMessageGate, type GateResult } from '../../src/receiver/key-message-gate.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import {
  contentKeyMessage,
  GROUP_EPOCH,
  groupRekeyMessage,
  keyMessageFields,
  keyMessageKeys,
  NOW_MS,
  PERIOD,
  VALID_FOR_MS,
  PROGRAMME_ID,
  resign,
  SEGMENT,
  segmentKeyMessage,
  SELF_CLIENT_ID,
  SERVICE_ID,
  signedPart,
  type KeyMessageKeys,
  type Made,
} from '../key-messages.js';
import { mutate, randomInput } from '../mutate.js';
import type { Prng } from '../prng.js';
import {
  ACCEPTED,
  check,
  rejected,
  type CaseOutcome,
  type FuzzInstance,
  type FuzzTarget,
} from '../target.js';

const KEPT_MESSAGES = 64;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && Buffer.compare(a, b) === 0;

/** Decoders: total, and a decoded message encodes back to its bytes (reserved octets read as 0). */
function checkDecoders(input: Uint8Array): void {
  const any = decodeAnyKeyMessage(input);
  const plain = decodeKeyMessage(input);
  if (plain.ok) {
    const expected = input.slice();
    expected[2] = 0;
    expected[3] = 0;
    const again = encodeKeyMessage(plain.msg, plain.msg.signature);
    check(same(again, expected), () => `key message does not round-trip: ${hex(again)}`);
  }
  if (any.ok && any.msg.type === 'group_rekey') {
    const expected = input.slice();
    expected[2] = 0;
    expected[3] = 0;
    expected[25] = 0;
    const again = encodeGroupRekey(any.msg, any.msg.signature);
    check(same(again, expected), () => `group_rekey does not round-trip: ${hex(again)}`);
  }
  check(any.ok || plain.ok === false, () => 'decodeAnyKeyMessage refused what decodeKeyMessage took');
}

/** A gate and what it admitted: enough to see whether a rejection changed it. */
class WatchedGate {
  readonly gate: KeyMessageGate;
  readonly keyIds: KeyId[] = [];

  constructor(keys: KeyMessageKeys, now: () => number) {
    const open = keyMessageOpener(keys.serverPublicKey, {
      clientId: SELF_CLIENT_ID,
      clientKey: keys.clientKey,
    });
    this.gate = new KeyMessageGate(asProgrammeId(PROGRAMME_ID), open, now);
  }

  admitted(r: GateResult): void {
    if (r.kind !== 'accepted') return;
    // As a receiver does once it holds the key: the pending list stays short, as in production.
    this.gate.installed(r.key.keyId);
    this.keyIds.push(r.key.keyId);
    if (this.keyIds.length > KEPT_MESSAGES) this.keyIds.shift();
  }

  snapshot(): string {
    const pending = this.gate
      .pending()
      .map((k) => k.keyId)
      .sort((a, b) => a - b);
    const known = this.keyIds.map((k) => [this.gate.announced(k) !== undefined, this.gate.isPending(k)]);
    return JSON.stringify({ pending, known });
  }
}

/** Opening every copy with the keys the receiver holds: must never throw, whatever the server signed. */
function openAll(r: GateResult, keys: KeyMessageKeys): void {
  if (r.kind === 'accepted') {
    for (const s of r.key.segments) r.key.unwrap(s, keys.psk);
    r.key.unwrapGroup(keys.groupKey, GROUP_EPOCH);
  } else if (r.kind === 'segment_key') {
    for (const s of r.segmentKey.services) r.segmentKey.unwrap(s.serviceId, s.period, keys.serviceKey);
    r.segmentKey.own();
  }
}

/** A fresh valid message opens to exactly the keys it was made with. */
function checkOpensRight(r: GateResult, made: Made, keys: KeyMessageKeys): void {
  if (made.type === 'content_key') {
    check(r.kind === 'accepted', () => `a valid content_key message gave ${JSON.stringify(r)}`);
    const ck = made.ck;
    const viaPsk = r.key.unwrap(SEGMENT, keys.psk);
    const viaGroup = r.key.unwrapGroup(keys.groupKey, GROUP_EPOCH);
    check(same(viaPsk?.masterKey, ck.masterKey) && same(viaPsk?.masterSalt, ck.masterSalt), () => 'psk copy');
    check(same(viaGroup?.masterKey, ck.masterKey), () => 'the group copy does not open');
  } else if (made.type === 'segment_key') {
    check(r.kind === 'segment_key', () => `a valid segment_key message gave ${JSON.stringify(r)}`);
    check(same(r.segmentKey.unwrap(SERVICE_ID, PERIOD, keys.serviceKey), keys.psk), () => 'service copy');
  } else {
    check(r.kind === 'group_rekey', () => `a valid group_rekey message gave ${JSON.stringify(r)}`);
  }
}

type Expect = { kind: 'valid'; made: Made } | { kind: 'repeat' } | { kind: 'garbage' } | { kind: 'resigned' };

function setup(rng: Prng): FuzzInstance {
  const keys = keyMessageKeys(rng);
  // The clock moves on with every valid message, so old messages expire and the gate forgets them, as in production.
  let nowMs = NOW_MS;
  const main = new WatchedGate(keys, () => nowMs);
  const resigned = new WatchedGate(keys, () => nowMs);
  const admitted: Uint8Array[] = [];
  const admittedHex = new Set<string>();
  let nextSeq = 1;
  let expect: Expect = { kind: 'garbage' };

  const make = (r: Prng): Made => {
    const seq = nextSeq++;
    const kind = r.below(3);
    return kind === 0
      ? contentKeyMessage(r, keys, seq, nowMs)
      : kind === 1
        ? segmentKeyMessage(r, keys, seq, nowMs)
        : groupRekeyMessage(r, keys, seq);
  };

  function admit(bytes: Uint8Array): void {
    admitted.push(bytes);
    admittedHex.add(hex(bytes));
    if (admitted.length > KEPT_MESSAGES) admitted.shift(); // (the hex set keeps all: a duplicate stays one)
  }

  function generate(r: Prng): Uint8Array {
    const roll = r.below(100);
    if (roll < 3 || admitted.length === 0) {
      const made = make(r);
      expect = { kind: 'valid', made };
      return made.bytes;
    }
    const src = r.pick(admitted);
    if (roll < 5) {
      expect = { kind: 'repeat' };
      return src;
    }
    if (roll < 25) {
      expect = { kind: 'resigned' };
      const signed = signedPart(src);
      return resign(mutate(r, { input: signed, fields: keyMessageFields(signed), others: admitted }), keys);
    }
    expect = { kind: 'garbage' };
    if (r.chance(0.05)) return randomInput(r, 1200);
    return mutate(r, { input: src, fields: keyMessageFields(src), others: admitted });
  }

  function feed(input: Uint8Array): CaseOutcome {
    checkDecoders(input);
    const watched = expect.kind === 'resigned' ? resigned : main;
    const before = watched.snapshot();
    const r = watched.gate.accept(input);
    watched.admitted(r);
    const prefix = expect.kind === 'resigned' ? 'resigned:' : '';
    if (expect.kind === 'resigned') openAll(r, keys);
    if (expect.kind === 'valid') {
      checkOpensRight(r, expect.made, keys);
      admit(input);
      nowMs += VALID_FOR_MS / 200;
      return ACCEPTED;
    }
    if (expect.kind === 'repeat') check(r.kind === 'duplicate', () => `a repeat gave ${r.kind}`);
    if (expect.kind === 'garbage' && r.kind !== 'rejected') {
      check(
        r.kind === 'duplicate' && admittedHex.has(hex(input)),
        () => `a mutant of a signed message was admitted (${r.kind})`,
      );
    }
    if (r.kind === 'rejected' || r.kind === 'duplicate') {
      const after = watched.snapshot();
      check(after === before, () => `gate changed after ${r.kind}: ${before} → ${after}`);
      return rejected(prefix + (r.kind === 'rejected' ? r.reason : 'duplicate'));
    }
    return ACCEPTED;
  }

  return {
    generate,
    feed,
    finish() {
      const r = rng.fork();
      // After all the garbage, fresh valid messages are admitted and open, and a repeat is a duplicate.
      for (let i = 0; i < 3; i++) {
        const made = make(r);
        checkOpensRight(main.gate.accept(made.bytes), made, keys);
        check(
          main.gate.accept(made.bytes).kind === 'duplicate',
          () => 'a repeat after the run was not a duplicate',
        );
      }
    },
  };
}

export const target: FuzzTarget = {
  name: 'key-message',
  summary:
    'key-message decoders, signature check, opener and gate (src/packet/key-message.ts, src/receiver/)',
  setup,
};
