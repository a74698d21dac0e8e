// The RTP header parser (src/packet/rtp-header.ts), its padding check, and SRTP trailer parsing
// (src/packet/srtp-trailer.ts) under every layout. Oracles: a decoded header encodes back to exactly the bytes it
// came from; lengths stay inside the input; the input is never written.
import { asSsrc } from '../../src/ids.js';
import { decodeRtpHeader, decodeRtpPadding, encodeRtpHeader } from '../../src/packet/rtp-header.js';
import { decodeSrtpTrailer, type MkiLengthBytes } from '../../src/packet/srtp-trailer.js';
import { concat, mutate, randomInput } from '../mutate.js';
import { randomRtpPacket, rtpFields } from '../rtp-packets.js';
import type { Prng } from '../prng.js';
import { ACCEPTED, check, rejected, type FuzzInstance, type FuzzTarget } from '../target.js';

const MKI_LENGTHS: readonly MkiLengthBytes[] = [0, 1, 2, 3, 4];
const TAG_LENGTHS = [0, 4, 10, 16];
const CORPUS_SIZE = 256;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function checkHeader(input: Uint8Array): ReturnType<typeof decodeRtpHeader> {
  const r = decodeRtpHeader(input);
  if (!r.ok) {
    check(
      r.need === undefined || (r.have === input.length && r.need > r.have),
      () => `need/have wrong: ${r.need}/${r.have}`,
    );
    return r;
  }
  check(
    r.headerLengthBytes <= input.length,
    () => `header ${r.headerLengthBytes} beyond ${input.length} bytes`,
  );
  check(r.header.csrcs.length === (input[0]! & 0x0f), () => 'CSRC count differs from the CC field');
  check(
    (r.header.extension !== undefined) === ((input[0]! & 0x10) !== 0),
    () => 'extension differs from the X bit',
  );
  const again = encodeRtpHeader(r.header);
  check(
    hex(again) === hex(input.subarray(0, r.headerLengthBytes)),
    () => `header does not round-trip: ${hex(again)}`,
  );
  return r;
}

function checkTrailers(input: Uint8Array): void {
  for (const mkiLengthBytes of MKI_LENGTHS) {
    for (const authTagBytes of TAG_LENGTHS) {
      const t = decodeSrtpTrailer(input, { mkiLengthBytes, authTagBytes });
      const size = mkiLengthBytes + authTagBytes;
      if (!t.ok) {
        check(
          input.length < size && t.need === size && t.have === input.length,
          () => 'trailer refused wrongly',
        );
        continue;
      }
      check(t.authenticatedLengthBytes + size === input.length, () => 'trailer lengths do not add up');
      check(t.trailer.tag.length === authTagBytes, () => 'tag length wrong');
      let mki = 0;
      for (let i = 0; i < mkiLengthBytes; i++) mki = mki * 256 + input[t.authenticatedLengthBytes + i]!;
      check(
        t.trailer.mki === mki && mki < 256 ** mkiLengthBytes,
        () => `MKI ${t.trailer.mki}, expected ${mki}`,
      );
    }
  }
}

function setup(rng: Prng): FuzzInstance {
  const corpus = Array.from({ length: CORPUS_SIZE }, () => {
    const p = randomRtpPacket(rng, {
      ssrc: asSsrc(rng.u32()),
      seq: rng.below(0x10000),
      maxPayloadBytes: 1400,
    });
    // An SRTP-like trailer (MKI, tag) after some of them, as the receiver sees them.
    return rng.chance(0.5) ? concat(p, rng.bytes(rng.pick([4, 10, 14]))) : p;
  });
  return {
    generate(r) {
      if (r.chance(0.05)) return randomInput(r, 1500);
      const input = r.pick(corpus);
      if (r.chance(0.02)) return input;
      return mutate(r, { input, fields: rtpFields(input), others: corpus });
    },
    feed(input) {
      const before = hex(input);
      const h = checkHeader(input);
      checkTrailers(input);
      let outcome = h.ok ? ACCEPTED : rejected(h.reason);
      if (h.ok) {
        const pad = decodeRtpPadding(input, h.headerLengthBytes);
        if (pad.ok) {
          check(pad.paddingBytes <= input.length - h.headerLengthBytes, () => 'padding beyond the payload');
          check(h.header.padding || pad.paddingBytes === 0, () => 'padding without the P bit');
        } else outcome = rejected(pad.reason);
      }
      check(hex(input) === before, () => 'the parser wrote to its input');
      return outcome;
    },
    finish() {
      for (const p of corpus)
        check(decodeRtpHeader(p).ok, () => `a valid packet no longer parses: ${hex(p)}`);
    },
  };
}

export const target: FuzzTarget = {
  name: 'rtp',
  summary: 'RTP header, padding and SRTP trailer parsers (src/packet/rtp-header.ts, srtp-trailer.ts)',
  setup,
};
