// keycast's SrtpSender and SrtpReceiver (the whole per-packet path: header parse, index estimate, replay window,
// transform), from dist/. No MKI, like the peers' default.
import { SrtpReceiver, SrtpSender, isSrtpProfileName } from '../../dist/srtp/index.js';
import { nativeSrtpStatus } from '../../dist/crypto/native.js';
import { masterKeyFor, rtpTemplate, setSeq, timed } from './measure.js';

const SSRC = 0x1234abcd;

function srtpKey(suite) {
  const { key, salt } = masterKeyFor(suite);
  return { keyId: 1, masterKey: key, masterSalt: salt };
}

function sender(suite) {
  const s = new SrtpSender({ profile: suite, mkiLengthBytes: 0 });
  s.addKey(srtpKey(suite));
  return s;
}

function receiver(suite) {
  const r = new SrtpReceiver({ profile: suite, mkiLengthBytes: 0 });
  r.addKey(srtpKey(suite));
  return r;
}

function mustProtect(s, packet) {
  const r = s.protect(packet);
  if (!r.ok) throw new Error(`keycast protect: ${r.reason}`);
  return r.packet;
}

function mustUnprotect(r, srtp) {
  const u = r.unprotect(srtp);
  if (!u.ok) throw new Error(`keycast unprotect: ${u.reason}`);
}

export const keycast = {
  name: 'keycast',
  note: () => {
    const s = nativeSrtpStatus();
    return s.loaded ? 'native addon' : `pure TypeScript (${s.reason})`;
  },
  supports: (suite) => (isSrtpProfileName(suite) ? true : `this keycast has no ${suite}`),
  open(suite, payloadBytes) {
    const template = rtpTemplate(payloadBytes, SSRC);
    const tx = sender(suite);
    // The pair has its own sender: after 2^16 packets protect's sender is in ROC 1, which a new receiver cannot guess.
    const pairTx = sender(suite);
    const pairRx = receiver(suite);
    let pairSeq = 0;
    let seq = 0;
    let prepared = [];
    let rx;
    return {
      protect: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            setSeq(template, seq++);
            mustProtect(tx, template);
          }
        }),
      prepareUnprotect(n) {
        if (prepared.length !== n) {
          const t = sender(suite);
          prepared = [];
          for (let i = 0; i < n; i++) {
            setSeq(template, i);
            prepared.push(mustProtect(t, template));
          }
        }
        rx = receiver(suite);
      },
      unprotect: () =>
        timed(() => {
          for (const p of prepared) mustUnprotect(rx, p);
        }),
      pair: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            setSeq(template, pairSeq++);
            mustUnprotect(pairRx, mustProtect(pairTx, template));
          }
        }),
    };
  },
};
