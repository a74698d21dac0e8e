// JSON bodies of the key server's HTTP API, shared by the server and KeyServerClient. Binary fields are base64.
import type { KeyChangeMode } from '../packet/key-phase.js';
import type { KeyMessageProfile } from '../packet/profile-code.js';

export interface ProgrammeInfo {
  readonly id: number;
  readonly serviceId: number;
  readonly name: string;
  readonly group: string;
  readonly port: number;
  readonly keyPort: number;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  /**
   * How packets signal a key change: `mki` (the SRTP MKI, claims 25-28) or `phase` (the RTP padding bit, claim 29;
   * mkiLengthBytes is then 0). Absent means `mki` (a key server from before claim 29).
   */
  readonly keyChange?: KeyChangeMode;
  readonly segmentLengthMs: number;
  readonly cryptoPeriodMs: number;
  /** How it is sold: `subscription`, `per_segment`, `both` or `session` (src/store/types.ts ProgrammePricing). */
  readonly pricing: 'subscription' | 'per_segment' | 'both' | 'session';
  /** The newest segment a sender has taken a content key for; null before the first. A restarted sender resumes after it. */
  readonly latestSegment: number | null;
}

export const SEGMENT_KEY_DELIVERIES = ['unicast', 'multicast'] as const;
export type SegmentKeyDelivery = (typeof SEGMENT_KEY_DELIVERIES)[number];

/** POST /v1/keys/segment */
export interface SegmentKeyRequestBody {
  readonly programmeId: number;
  readonly segment: number;
  readonly requestId: string;
  /**
   * 'multicast': the client listens on the programme's key port and accepts its key inside a segment_key message
   * addressed to several clients (src/server/segment-key-batch.ts). Default 'unicast': the key in the answer.
   */
  readonly delivery?: SegmentKeyDelivery;
}

/** The answer as logged (and as given by unicast, or to a retry answered from the log). */
export interface SegmentKeyResponseBody {
  readonly requestId: string;
  readonly programmeId: number;
  readonly segment: number;
  /** Epoch of the segment key (0 until a rekey). */
  readonly epoch: number;
  /** PSK wrapped under the client's key, AAD "keycast/v1 psk>client client=.. programme=.. segment=.. epoch=..". */
  readonly wrappedKey: string;
}

/** The HTTP answer to POST /v1/keys/segment. */
export type SegmentKeyAnswerBody =
  | (SegmentKeyResponseBody & { readonly delivery: 'unicast' })
  | {
      readonly requestId: string;
      readonly programmeId: number;
      readonly segment: number;
      readonly epoch: number;
      readonly delivery: 'multicast';
      /** The segment_key message on the key port whose entries include this client's copy. */
      readonly messageSeq: number;
    };

/** POST /v1/sender/content-keys */
export interface ContentKeyRequestBody {
  readonly programmeId: number;
  readonly segment: number;
  readonly ssrc: number;
  readonly roc: number;
  readonly seq: number;
  readonly activatesAtMs: number;
  readonly expiresAtMs: number;
  /** Optional: makes a retry idempotent (KeyServerClient always sends one). */
  readonly requestId?: string;
}

export interface ContentKeyResponseBody {
  readonly requestId: string | null;
  readonly programmeId: number;
  readonly segment: number;
  readonly keyId: number;
  readonly profile: KeyMessageProfile;
  readonly mkiLengthBytes: number;
  /** CK (masterKey ‖ masterSalt) under the sender's key, AAD "keycast/v1 ck>client client=.. programme=.. key=..". */
  readonly wrappedContentKey: string;
  /** A signed content_key key message whose one entry is the CK under PSK(programme, segment). */
  readonly keyMessage: string;
  /**
   * A signed segment_key message: the segment's PSK wrapped under the service key of the current period (and of the
   * next one near the change), for subscribers (claim 9). Null when the programme is sold per segment only.
   */
  readonly segmentKeyMessage: string | null;
}

/** POST /v1/purchases/subscription and POST /v1/keys/service */
export interface ServiceKeyRequestBody {
  readonly serviceId: number;
  /** 'YYYY-MM': the current UTC month or the next one. */
  readonly period: string;
  readonly requestId: string;
}

export interface ServiceKeyResponseBody {
  readonly requestId: string;
  readonly serviceId: number;
  readonly period: string;
  /** SK wrapped under the client's key, AAD "keycast/v1 sk>client client=.. service=.. period=YYYY-MM". */
  readonly wrappedKey: string;
}

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const BODY_LIMIT_BYTES = 16 * 1024;

// ---- sessions (docs/membership.md; claims 13-24) ----

export const GROUP_REKEY_MODES = ['flat', 'lkh', 'batch'] as const;
export type GroupRekeyMode = (typeof GROUP_REKEY_MODES)[number];

/** POST /v1/sessions/join */
export interface SessionJoinRequestBody {
  readonly programmeId: number;
  readonly requestId: string;
}

export interface SessionJoinResponseBody {
  readonly requestId: string;
  readonly programmeId: number;
  /** The member id in the group: the client id. */
  readonly memberId: number;
  readonly mode: GroupRekeyMode;
  /** The member's individual key (32 B) under the client's key, AAD "keycast/v1 mk>client client=.. programme=..". */
  readonly memberKey: string;
  readonly keepAliveIntervalMs: number;
  readonly expiryMs: number;
  readonly ackTimeoutMs: number;
  /** The group epoch after this join (batch: the epoch before the flush that will bring this member in). */
  readonly groupEpoch: number;
  /** Signed group_rekey datagrams (base64) carrying what this member needs to reach `groupEpoch`; may be empty. */
  readonly rekey: readonly string[];
}

/** POST /v1/sessions/ack */
export interface SessionAckRequestBody {
  readonly programmeId: number;
  readonly groupEpoch: number;
}
export interface SessionAckResponseBody {
  readonly programmeId: number;
  readonly groupEpoch: number;
}

/** POST /v1/sessions/keepalive */
export interface SessionKeepAliveRequestBody {
  readonly programmeId: number;
}
export interface SessionKeepAliveResponseBody {
  readonly programmeId: number;
  readonly groupEpoch: number;
  readonly keepAliveIntervalMs: number;
}

/** POST /v1/sessions/leave */
export interface SessionLeaveRequestBody {
  readonly programmeId: number;
  readonly requestId: string;
}
export interface SessionLeaveResponseBody {
  readonly programmeId: number;
  /** Unix ms of the leave record (= the billing stop). */
  readonly leftAtMs: number;
}

/** POST /v1/sessions/keys */
export interface SessionKeysRequestBody {
  readonly programmeId: number;
}
export interface SessionKeysResponseBody {
  readonly programmeId: number;
  readonly groupEpoch: number;
  readonly rekey: readonly string[];
}
