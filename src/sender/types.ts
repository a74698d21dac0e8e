// The sender's contract with the outside: where content keys come from, what it is told, what it reports.
import type { Logger } from 'pino';
import type { KeyId, Ssrc } from '../ids.js';
import type { ProgrammeInfo } from '../server/client.js';

export interface ContentKeyRequest {
  readonly segment: number;
  readonly ssrc: Ssrc;
  /** The SSRC's ROC at sequence number `seq`: what a late joiner needs to estimate indices. */
  readonly roc: number;
  readonly seq: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
}

export interface IssuedContentKey {
  readonly keyId: KeyId;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  /** Signed by the key server; multicast as is. */
  readonly keyMessage: Uint8Array;
  /**
   * The segment's PSK under service keys (a signed segment_key message), when the programme is sold on subscription:
   * multicast with the content keys for as long as the segment is on the air (claim 9).
   */
  readonly segmentKeyMessage?: Uint8Array;
}

/** Where content keys come from: the key server (KeyServerClient.issueContentKey) in production. */
export type ContentKeyIssuer = (req: ContentKeyRequest) => Promise<IssuedContentKey>;

export interface SenderProgress {
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly keysRotated: number;
  readonly keyId: KeyId | undefined;
  readonly segment: number;
  /** Segments this run has sent into (a restarted sender starts after the programme's newest). */
  readonly segmentsSent: number;
  readonly mediaMs: number;
  /** SRTCP sender reports sent on port + 1. */
  readonly reportsSent: number;
}

/**
 * Where one programme segment lies in what this run sent: its packets by SRTP index (ROC·2^16 + SEQ) and its TS
 * bytes as offsets into the concatenated RTP payloads, [tsByteStart, tsByteEnd). For a clean MPEG-TS file those
 * are offsets into the file. Every packet carries a full chunk of TS packets except possibly the very last.
 */
export interface SegmentRange {
  readonly segment: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly packets: number;
  readonly tsByteStart: number;
  readonly tsByteEnd: number;
}

export interface SenderOptions {
  readonly programme: ProgrammeInfo;
  readonly issueContentKey: ContentKeyIssuer;
  /** 1 = real time by the PCR; 8 = eight times faster. Live inputs are sent as they arrive. */
  readonly speed: number;
  readonly paced: boolean;
  /** A content key is announced at least this long (wall clock) before its first packet. */
  readonly leadMs: number;
  /** Key messages are repeated this often. */
  readonly carouselIntervalMs: number;
  readonly interfaceAddress: string;
  readonly ttl: number;
  readonly ssrc?: Ssrc;
  readonly initialSeq?: number;
  readonly log: Logger;
  readonly onProgress?: (p: SenderProgress) => void;
  /** SRTCP sender reports on port + 1 this often; 0 turns RTCP off. Default 1000. */
  readonly rtcpIntervalMs?: number;
  /** The RTCP CNAME (RFC 3550 §6.5.1); default keycast-sender-<ssrc>@<interface>. */
  readonly cname?: string;
}
