// What `keycast demo` takes and what its summary (`--json`) holds.
import type { Invoice } from '../billing/rate.js';
import type { RatePlan } from '../billing/rate-plan.js';
import type { SegmentRange } from '../sender/types.js';
import type { Entitlement } from './demo-cast.js';

/** One claim the demo checks; it exits 0 only when every one holds. */
export interface DemoCheck {
  readonly name: string;
  readonly ok: boolean;
}

export interface DemoOptions {
  readonly input: string;
  readonly speed: number;
  readonly json: boolean;
  readonly keep: boolean;
  readonly cryptoPeriodMs: number;
  readonly segmentLengthMs: number;
  /** How packets signal a key change: the SRTP MKI (claims 25-28) or the RTP padding bit (claim 29). */
  readonly keyChange: 'mki' | 'phase';
  /** The key server's session rekey mode (`keycast serve --rekey`). */
  readonly rekey: 'flat' | 'lkh' | 'batch';
  /** The SRTP profile of both programmes (`keycast programme create --profile`); docs/srtp-suites.md. */
  readonly profile: string;
  readonly status: (line: string) => void;
}

export interface DemoReceiver {
  readonly name: string;
  readonly clientId: number;
  readonly entitled: boolean;
  readonly entitlement: Entitlement;
  /** The segments of the programme it bought or subscribes to. */
  readonly segmentsEntitled: readonly number[];
  /**
   * The output is exactly the part of the input it was entitled to, from its first decrypted TS packet on: the
   * whole input for a full entitlement, up to the end of segment 0 for the segment-0 buyer, a suffix for the late
   * joiner. False when it decrypted nothing.
   */
  readonly identical: boolean;
  /** That part of the input: its first and last byte offsets (end exclusive) and its length. */
  readonly expected: {
    readonly fromByte: number | null;
    readonly toByte: number | null;
    readonly bytes: number;
  };
  readonly outputSha256: string;
  readonly outputBytes: number;
  /** SRTP index (ROC·2^16 + SEQ) of its first decrypted packet, and that packet's ROC. */
  readonly firstDecryptedIndex: number | null;
  readonly firstDecryptedRoc: number | null;
  /** For the late joiner: the sender's packet count when it had joined (null for receivers there from the start). */
  readonly joinedAfterSenderPackets: number | null;
  readonly packetsReceived: number;
  readonly packetsDecrypted: number;
  readonly packetsRejected: number;
  readonly rejectedByReason: Record<string, number>;
  /** SRTCP sender reports on port + 1 (docs/srtcp.md): received, verified, rejected by reason; null if not counted. */
  readonly srtcp: {
    readonly received: number;
    readonly accepted: number;
    readonly rejectedByReason: Record<string, number>;
  } | null;
  readonly segmentKeyRequests: number;
  /** Every key request the receiver made over HTTP (segment keys and service keys), after any purchase. */
  readonly keyRequests: number;
  /** Segment keys it took from the multicast under its service key. */
  readonly segmentKeysFromMulticast: number;
  /** Segment keys it took from a multicast message addressed to named clients, under its own client key. */
  readonly segmentKeysAddressed: number;
  readonly refusals: readonly { segment: number; code: string }[];
  /** Session members (the second programme): when it left or was removed (Unix ms, the key server's), else null. */
  readonly leftAt: number | null;
  /** What removed it: its leave message, keep-alive expiry, a missing ack; null if it stayed to the end. */
  readonly removedBy: 'leave' | 'keepalive' | 'ack' | null;
  /**
   * Packets it decrypted under content keys whose key message was issued after the key server removed it (its
   * leave or evict record in the log), measured while it kept listening and trying: must be 0. Null for receivers
   * that were never session members.
   */
  readonly packetsDecryptedAfterRemoval: number | null;
  /** Session seconds the bill rates (join to billing stop); null for receivers that were never session members. */
  readonly billedSeconds: number | null;
  /** Session members: the group epoch it reached, acks and keep-alives it sent. */
  readonly groupEpoch: number | null;
  readonly acks: number | null;
  readonly keepAlives: number | null;
}

export interface DemoSummary {
  readonly ok: boolean;
  /** The SRTP profile both programmes were sent with. */
  readonly profile: string;
  readonly checks: readonly DemoCheck[];
  readonly input: { path: string; sha256: string; bytes: number };
  readonly sender: {
    packetsSent: number;
    keysRotated: number;
    segments: number;
    /** Its first RTP sequence number: chosen so that the sequence number wraps after `wrapAfterPackets`. */
    initialSeq: number;
    wrapAfterPackets: number;
    /** Where each segment lies in the stream (SRTP indices, TS byte offsets), as the sender reported. */
    segmentRanges: readonly SegmentRange[];
  };
  readonly keysRotated: number;
  /** The second programme, sold per minute of session membership, and its members (also in `receivers`). */
  readonly session: {
    readonly programmeId: number;
    readonly mode: 'flat' | 'lkh' | 'batch';
    readonly keepAliveIntervalMs: number;
    readonly memberExpiryMs: number;
    readonly packetsSent: number;
    readonly keysRotated: number;
    /** group_rekey records in the log for the programme. */
    readonly groupRekeys: number;
    /** When the demo started the session programme's sender (Unix ms): `leftAt` in the table counts from here. */
    readonly senderStartedAtMs: number;
    readonly silentSuspendedForMs: number | null;
  };
  readonly receivers: readonly DemoReceiver[];
  readonly log: { records: number; chainIntact: boolean };
  readonly billing: Invoice & { readonly plan: RatePlan };
  readonly dataDir: string | null;
  /** With --keep: the directory holding each receiver's output, the logs and stats files (dataDir is inside). */
  readonly workDir: string | null;
}
