// Signing and verifying key messages (src/packet/key-message.ts) with the key server's Ed25519 key, so that no
// member can forge keys for the others.
import { signEd25519, verifyEd25519 } from '../crypto/sign.js';
import {
  decodeKeyMessage,
  keyMessageSignedSize,
  KEY_MESSAGE_SIGNATURE_LENGTH_BYTES,
  writeKeyMessageSignedPart,
  type KeyMessage,
  type KeyMessageRejectReason,
  type UnsignedKeyMessage,
} from '../packet/key-message.js';

export type VerifyKeyMessageResult =
  | { readonly ok: true; readonly msg: KeyMessage }
  | {
      readonly ok: false;
      readonly reason: KeyMessageRejectReason | 'bad_signature';
      readonly need?: number;
      readonly have?: number;
    };

/** Encode and sign `msg` with the server's raw 32-byte Ed25519 private key. */
export function signKeyMessage(msg: UnsignedKeyMessage, serverPrivateKey: Uint8Array): Uint8Array {
  const signedLength = keyMessageSignedSize(msg);
  const out = new Uint8Array(signedLength + KEY_MESSAGE_SIGNATURE_LENGTH_BYTES);
  writeKeyMessageSignedPart(msg, out, 0);
  out.set(signEd25519(serverPrivateKey, out.subarray(0, signedLength)), signedLength);
  return out;
}

/** Decode `bytes` and check the server's signature. Untrusted input: never throws. */
export function verifyKeyMessage(bytes: Uint8Array, serverPublicKey: Uint8Array): VerifyKeyMessageResult {
  const decoded = decodeKeyMessage(bytes);
  if (!decoded.ok) return decoded;
  if (!verifyEd25519(serverPublicKey, decoded.msg.signedBytes, decoded.msg.signature)) {
    return { ok: false, reason: 'bad_signature' };
  }
  return decoded;
}
