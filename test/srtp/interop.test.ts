// The libsrtp reference packet end to end through SrtpSender and SrtpReceiver.

import { describe, expect, it } from 'vitest';
import { asKeyId } from '../../src/ids.js';
import { SrtpReceiver, SrtpSender } from '../../src/srtp/index.js';
import { LIBSRTP } from '../crypto/vectors.js';
import { hex, toHex } from './helpers.js';

describe('libsrtp srtp_validate through the SRTP contexts', () => {
  for (const v of LIBSRTP.packets) {
    const profile = v.profile as 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';
    const key = { keyId: asKeyId(0xe1f97a0d), masterKey: hex(v.masterKey), masterSalt: hex(v.masterSalt) };

    it(`${profile}: a fresh sender and receiver produce and accept the reference packet`, () => {
      const sender = new SrtpSender({ profile, mkiLengthBytes: 0 });
      const receiver = new SrtpReceiver({ profile, mkiLengthBytes: 0 });
      sender.addKey(key);
      receiver.addKey(key);
      const p = sender.protect(hex(v.rtp));
      expect(p.ok && toHex(p.packet)).toBe(v.srtp);
      expect(p.ok && p.index).toBe(v.index);
      const r = receiver.unprotect(hex(v.srtp));
      expect(r.ok && toHex(r.packet)).toBe(v.rtp);
      expect(r.ok && r.ssrc).toBe(0xcafebabe);
    });

    it(`${profile}: with a 4-byte MKI, the MKI sits between ciphertext and tag, outside the tag`, () => {
      const sender = new SrtpSender({ profile, mkiLengthBytes: 4 });
      const receiver = new SrtpReceiver({ profile, mkiLengthBytes: 4 });
      sender.addKey(key);
      sender.activate(key.keyId);
      receiver.addKey(key);
      const tagBytes = profile === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4;
      const body = v.srtp.slice(0, -2 * tagBytes);
      const tag = v.srtp.slice(-2 * tagBytes);
      const p = sender.protect(hex(v.rtp));
      expect(p.ok && toHex(p.packet)).toBe(body + 'e1f97a0d' + tag);
      const r = receiver.unprotect(hex(body + 'e1f97a0d' + tag));
      expect(r.ok && toHex(r.packet)).toBe(v.rtp);
      expect(r.ok && r.keyId).toBe(0xe1f97a0d);
    });
  }
});
