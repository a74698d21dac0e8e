// `keycast keys export`: the content keys of one programme in clear, for an operator who wants to decrypt the
// multicast with a standard SRTP implementation (libsrtp, GStreamer srtpdec, ffmpeg). Format: docs/keys-export.md.
// The export itself is logged (event 'keys_export').
import type { ProgrammeId } from '../ids.js';
import type { KeyMessageProfile } from '../packet/profile-code.js';
import { operatorRecord } from './admin.js';
import type { ServerSecrets } from './data-dir.js';
import type { Store } from './types.js';
import { openContentKey } from './vault.js';

export interface ExportedContentKey {
  readonly keyId: number;
  /** The MKI on the wire: the key id's low mkiLengthBytes bytes, big-endian, hex ('' when mkiLengthBytes is 0). */
  readonly mki: string;
  readonly masterKey: string;
  readonly masterSalt: string;
  readonly ssrc: number;
  readonly roc: number;
  readonly seq: number;
  readonly segment: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
  readonly profile: KeyMessageProfile;
}

export interface KeysExport {
  readonly version: 1;
  readonly programmeId: number;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  readonly exportedAtMs: number;
  readonly keys: readonly ExportedContentKey[];
}

/** The MKI bytes for a key id: its low `mkiLengthBytes` bytes, big-endian, as hex. */
export function mkiHex(keyId: number, mkiLengthBytes: number): string {
  return mkiLengthBytes === 0
    ? ''
    : keyId
        .toString(16)
        .padStart(8, '0')
        .slice(8 - 2 * mkiLengthBytes);
}

export async function exportContentKeys(
  store: Store,
  secrets: ServerSecrets,
  programmeId: ProgrammeId,
  nowMs = Date.now(),
): Promise<KeysExport> {
  return store.transact(async (tx) => {
    const p = await tx.programmes.get(programmeId);
    if (p === undefined) throw new Error(`programme ${programmeId} does not exist`);
    const rows = await tx.contentKeys.list(programmeId);
    const keys = rows.map((r): ExportedContentKey => {
      const ck = openContentKey(secrets.masterKey, programmeId, r.keyId, r.wrappedKey, p.profile);
      return {
        keyId: r.keyId,
        mki: mkiHex(r.keyId, p.mkiLengthBytes),
        masterKey: Buffer.from(ck.masterKey).toString('hex'),
        masterSalt: Buffer.from(ck.masterSalt).toString('hex'),
        ssrc: r.ssrc,
        roc: r.roc,
        seq: r.seq,
        segment: r.segment,
        activatesAtMs: r.activatesAtMs,
        expiresAtMs: r.expiresAtMs,
        profile: p.profile,
      };
    });
    await tx.log.append({
      ...operatorRecord(nowMs, 'keys_export'),
      serviceId: p.serviceId,
      programmeId,
      detail: JSON.stringify({ keys: keys.length }),
    });
    return {
      version: 1,
      programmeId,
      profile: p.profile,
      mkiLengthBytes: p.mkiLengthBytes,
      exportedAtMs: nowMs,
      keys,
    };
  });
}
