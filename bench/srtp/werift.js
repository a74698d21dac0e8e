// werift-rtp's SrtpSession (its SRTP contexts: ROC tracking and the cipher), the TypeScript peer.
import { Buffer } from 'node:buffer';
import { RtpHeader, SrtpSession } from 'werift-rtp';
import { masterKeyFor, timed } from './measure.js';

const PROFILES = { AES_CM_128_HMAC_SHA1_80: 1, AEAD_AES_128_GCM: 7 }; // werift's ProtectionProfile numbers
const SSRC = 0x1234abcd;

function session(suite) {
  const { key, salt } = masterKeyFor(suite);
  const k = Buffer.from(key);
  const s = Buffer.from(salt);
  return new SrtpSession({
    keys: { localMasterKey: k, localMasterSalt: s, remoteMasterKey: k, remoteMasterSalt: s },
    profile: PROFILES[suite],
  });
}

export const werift = {
  name: 'werift-rtp',
  note: () => '',
  supports: (suite) => (suite in PROFILES ? true : `werift-rtp has no ${suite}`),
  open(suite, payloadBytes) {
    const payload = Buffer.alloc(payloadBytes, 0x5a);
    const header = new RtpHeader({ payloadType: 33, ssrc: SSRC, sequenceNumber: 0, timestamp: 0 });
    const tx = session(suite);
    // The pair has its own sessions: after 2^16 packets protect's sender is in ROC 1, which a new receiver cannot guess.
    const pairTx = session(suite);
    const pairRx = session(suite);
    const seq = { protect: 0, pair: 0 };
    let prepared = [];
    let rx;
    const next = (s, op) => {
      header.sequenceNumber = seq[op]++ & 0xffff;
      return s.encrypt(payload, header);
    };
    return {
      protect: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) next(tx, 'protect');
        }),
      prepareUnprotect(n) {
        if (prepared.length !== n) {
          const t = session(suite);
          const h = new RtpHeader({ payloadType: 33, ssrc: SSRC, sequenceNumber: 0, timestamp: 0 });
          prepared = [];
          for (let i = 0; i < n; i++) {
            h.sequenceNumber = i;
            prepared.push(t.encrypt(payload, h));
          }
        }
        rx = session(suite);
      },
      unprotect: () =>
        timed(() => {
          for (const p of prepared) rx.decrypt(p); // throws on a bad tag
        }),
      pair: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) pairRx.decrypt(next(pairTx, 'pair'));
        }),
    };
  },
};
