// Keys at rest: every client key (UK), service key (SK), segment key (PSK) and content key (CK) is stored wrapped under the server
// master key, with the AAD strings of src/keys/aad.ts. Unwrapping failure means a corrupt store or a wrong master
// key, never bad client input, so it throws.
import { unwrapKey, wrapKey } from '../crypto/aead-wrap.js';
import {
  aadClientKeyAtRest,
  aadContentKeyAtRest,
  aadSegmentKeyAtRest,
  aadServiceKeyAtRest,
} from '../keys/aad.js';
import { decodeContentKey, encodeContentKey, type ContentKey } from '../keys/content-key.js';
import type { KeyMessageProfile } from '../packet/profile-code.js';

export class VaultError extends Error {
  override readonly name = 'VaultError';
}

function open(masterKey: Uint8Array, wrapped: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  const r = unwrapKey(masterKey, wrapped, aad);
  if (!r.ok) throw new VaultError(`cannot unwrap ${what} (${r.reason}): wrong master key or corrupt store`);
  return r.key;
}

export function sealClientKey(masterKey: Uint8Array, clientId: number, uk: Uint8Array): Uint8Array {
  return wrapKey(masterKey, uk, aadClientKeyAtRest(clientId));
}

export function openClientKey(masterKey: Uint8Array, clientId: number, wrapped: Uint8Array): Uint8Array {
  return open(masterKey, wrapped, aadClientKeyAtRest(clientId), `client key ${clientId}`);
}

export function sealSegmentKey(
  masterKey: Uint8Array,
  programmeId: number,
  segment: number,
  epoch: number,
  psk: Uint8Array,
): Uint8Array {
  return wrapKey(masterKey, psk, aadSegmentKeyAtRest(programmeId, segment, epoch));
}

export function openSegmentKey(
  masterKey: Uint8Array,
  programmeId: number,
  segment: number,
  epoch: number,
  wrapped: Uint8Array,
): Uint8Array {
  const aad = aadSegmentKeyAtRest(programmeId, segment, epoch);
  return open(masterKey, wrapped, aad, `segment key ${programmeId}/${segment}/${epoch}`);
}

export function sealContentKey(
  masterKey: Uint8Array,
  programmeId: number,
  keyId: number,
  ck: ContentKey,
  profile: KeyMessageProfile,
): Uint8Array {
  return wrapKey(masterKey, encodeContentKey(ck, profile), aadContentKeyAtRest(programmeId, keyId));
}

export function openContentKey(
  masterKey: Uint8Array,
  programmeId: number,
  keyId: number,
  wrapped: Uint8Array,
  profile: KeyMessageProfile,
): ContentKey {
  const bytes = open(
    masterKey,
    wrapped,
    aadContentKeyAtRest(programmeId, keyId),
    `content key ${programmeId}/${keyId}`,
  );
  const ck = decodeContentKey(bytes, profile);
  if (ck === undefined)
    throw new VaultError(`content key ${programmeId}/${keyId} has the wrong length for ${profile}`);
  return ck;
}

export function sealServiceKey(
  masterKey: Uint8Array,
  serviceId: number,
  period: string,
  sk: Uint8Array,
): Uint8Array {
  return wrapKey(masterKey, sk, aadServiceKeyAtRest(serviceId, period));
}

export function openServiceKey(
  masterKey: Uint8Array,
  serviceId: number,
  period: string,
  wrapped: Uint8Array,
): Uint8Array {
  return open(
    masterKey,
    wrapped,
    aadServiceKeyAtRest(serviceId, period),
    `service key ${serviceId}/${period}`,
  );
}
