// The request log's hash chain. Each record stores the previous record's hash and
//
//   hash = hex(SHA-256( UTF-8( "keycast/v1/log\n" + prevHash + "\n" + canonical(record) ) ))
//
// where canonical(record) is the JSON array of the record's fields in this fixed order (numbers as JSON numbers,
// absent values as null, booleans as true/false, strings as JSON strings):
//
//   [seq, timeMs, requestId, clientId, authenticated, serviceId, programmeId, segment, keyId,
//    event, outcome, code, basis, period, detail, response]
//
// The first record's prevHash is 64 zeros. Editing any field of a record breaks its hash; deleting or reordering
// records breaks the next record's prevHash or the seq sequence. (Cutting off the newest records is only detected
// against a head hash kept elsewhere: `keycast log verify` prints the head for that purpose.)
import { sha256Hex } from '../crypto/mac.js';
import type { LogInput, LogRecord, Store } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);
const DOMAIN = 'keycast/v1/log\n';

export function canonicalLogRecord(seq: number, r: LogInput): string {
  return JSON.stringify([
    seq,
    r.timeMs,
    r.requestId,
    r.clientId,
    r.authenticated,
    r.serviceId,
    r.programmeId,
    r.segment,
    r.keyId,
    r.event,
    r.outcome,
    r.code,
    r.basis,
    r.period,
    r.detail,
    r.response,
  ]);
}

export function logRecordHash(prevHash: string, seq: number, r: LogInput): string {
  return sha256Hex(`${DOMAIN}${prevHash}\n${canonicalLogRecord(seq, r)}`);
}

export type VerifyLogResult =
  | { readonly ok: true; readonly records: number; readonly headSeq: number; readonly headHash: string }
  | {
      readonly ok: false;
      readonly records: number;
      /** The first record that does not verify. */
      readonly seq: number;
      readonly reason:
        'hash_mismatch' | 'prev_hash_mismatch' | 'seq_gap' | 'checkpoint_mismatch' | 'truncated';
      readonly message: string;
    };

/**
 * A record's seq and hash as printed by an earlier verify (headSeq, headHash), kept outside the data directory. The
 * chain alone cannot tell that records were cut off its end: a checkpoint can (`truncated`), and it pins every
 * record up to it (`checkpoint_mismatch` if the record there is another).
 */
export interface LogCheckpoint {
  readonly seq: number;
  readonly hash: string;
}

/** Walks the whole chain from the first record and reports the first broken record. */
export async function verifyLog(
  store: Store,
  pageSize = 1000,
  checkpoint?: LogCheckpoint,
): Promise<VerifyLogResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let records = 0;
  for (;;) {
    const page: LogRecord[] = await store.transact((tx) => tx.log.range(expectedSeq, pageSize));
    for (const r of page) {
      if (r.seq !== expectedSeq) {
        return {
          ok: false,
          records,
          seq: r.seq,
          reason: 'seq_gap',
          message: `expected seq ${expectedSeq}, found ${r.seq}`,
        };
      }
      if (r.prevHash !== prevHash) {
        return {
          ok: false,
          records,
          seq: r.seq,
          reason: 'prev_hash_mismatch',
          message: `record ${r.seq} does not follow record ${r.seq - 1}`,
        };
      }
      if (logRecordHash(prevHash, r.seq, r) !== r.hash) {
        return {
          ok: false,
          records,
          seq: r.seq,
          reason: 'hash_mismatch',
          message: `record ${r.seq} was altered`,
        };
      }
      if (checkpoint !== undefined && r.seq === checkpoint.seq && r.hash !== checkpoint.hash) {
        return {
          ok: false,
          records,
          seq: r.seq,
          reason: 'checkpoint_mismatch',
          message: `record ${r.seq} is not the one checkpointed (hash ${checkpoint.hash})`,
        };
      }
      prevHash = r.hash;
      expectedSeq++;
      records++;
    }
    if (page.length < pageSize) {
      if (checkpoint !== undefined && expectedSeq - 1 < checkpoint.seq) {
        return {
          ok: false,
          records,
          seq: expectedSeq,
          reason: 'truncated',
          message: `the log ends at record ${expectedSeq - 1}, before the checkpointed record ${checkpoint.seq}`,
        };
      }
      return { ok: true, records, headSeq: expectedSeq - 1, headHash: prevHash };
    }
  }
}
