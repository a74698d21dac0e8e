// Ed25519 (RFC 8032) signatures with raw keys: a 32-byte private seed and a 32-byte public key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const ED25519_PUBLIC_KEY_LENGTH_BYTES = 32;
export const ED25519_SEED_LENGTH_BYTES = 32;
export const ED25519_SIGNATURE_LENGTH_BYTES = 64;

// DER prefixes that turn a raw key into PKCS#8 / SPKI (RFC 8410 §7 and §4).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface SigningKeyPair {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Raw 32-byte Ed25519 private seed. Secret. */
  readonly privateKey: Uint8Array;
}

// Building a KeyObject costs far more than an Ed25519 signature: keep one per key array the caller holds (the key
// server signs every message with the same array; a receiver verifies with its credentials' array). A WeakMap keyed
// by the array: nothing outlives the caller's key, and a caller that mutates its array passes a new one anyway.
const privateKeys = new WeakMap<Uint8Array, KeyObject>();
const publicKeys = new WeakMap<Uint8Array, KeyObject>();

function cachedPrivateKeyObject(seed: Uint8Array): KeyObject {
  let k = privateKeys.get(seed);
  if (k === undefined) privateKeys.set(seed, (k = privateKeyObject(seed)));
  return k;
}

function cachedPublicKeyObject(publicKey: Uint8Array): KeyObject {
  let k = publicKeys.get(publicKey);
  if (k === undefined) publicKeys.set(publicKey, (k = publicKeyObject(publicKey)));
  return k;
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_LENGTH_BYTES) {
    throw new RangeError(
      `Ed25519 private key must be ${ED25519_SEED_LENGTH_BYTES} bytes, got ${seed.length}`,
    );
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== ED25519_PUBLIC_KEY_LENGTH_BYTES) {
    throw new RangeError(
      `Ed25519 public key must be ${ED25519_PUBLIC_KEY_LENGTH_BYTES} bytes, got ${publicKey.length}`,
    );
  }
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length));
}

/** A fresh Ed25519 key pair. */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(der.subarray(PKCS8_ED25519_PREFIX.length));
  return { publicKey: rawPublicKey(createPublicKey(privateKey)), privateKey: seed };
}

/** The raw public key for a raw private seed. */
export function signingPublicKey(privateKey: Uint8Array): Uint8Array {
  return rawPublicKey(createPublicKey(privateKeyObject(privateKey)));
}

/** Sign `message` with a raw 32-byte seed; returns the 64-byte signature. */
export function signEd25519(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, cachedPrivateKeyObject(privateKey)));
}

/**
 * Verify a 64-byte signature over `message` with a raw 32-byte public key. Untrusted input: a wrong-length
 * signature or any failure gives false. A wrong-length public key is a programming error and throws.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = cachedPublicKeyObject(publicKey);
  if (signature.length !== ED25519_SIGNATURE_LENGTH_BYTES) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
