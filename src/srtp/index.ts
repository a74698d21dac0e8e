// The SRTP layer's public face: per-SSRC protect/unprotect contexts and the profiles they use.

export {
  SRTP_PROFILES,
  SRTP_PROFILE_NAMES,
  isSrtpProfileName,
  srtpProfile,
} from '../crypto/srtp-profiles.js';
export type { SrtpProfile, SrtpProfileName, SrtpTransform } from '../crypto/srtp-profiles.js';
export { runSrtpSelfTest } from '../crypto/self-test.js';
export { SrtpSender } from './sender.js';
export type { SrtpProtectResult, SrtpSenderOptions } from './sender.js';
export { SRTP_DEFAULT_RETIRE_GRACE_MS, SrtpReceiver } from './receiver.js';
export type { SrtpReceiverOptions, SrtpUnprotectResult } from './receiver.js';
export { SRTP_DEFAULT_REPLAY_WINDOW_PACKETS, SRTP_MIN_REPLAY_WINDOW_PACKETS } from './replay-window.js';
export { SRTP_MAX_INDEX, estimateSrtpIndex, rocOfIndex, seqOfIndex, srtpIndex } from './index-estimate.js';
export type { MkiLengthBytes, SrtpMasterKey, SrtpRejectReason, SrtpStreamState } from './types.js';
export { srtpParams, type SrtpParams } from './params.js';
export { KEY_CHANGE_MODES, keyPhaseOf, type KeyChangeMode, type KeyPhase } from '../packet/key-phase.js';
export { SrtcpSender } from './srtcp-sender.js';
export type { SrtcpProtectResult, SrtcpSendRejectReason, SrtcpSenderOptions } from './srtcp-sender.js';
export {
  SRTCP_DEFAULT_REPLAY_WINDOW_PACKETS,
  SRTCP_REJECT_REASONS,
  SrtcpReceiver,
} from './srtcp-receiver.js';
export type { SrtcpReceiverOptions, SrtcpRejectReason, SrtcpUnprotectResult } from './srtcp-receiver.js';
export { SRTCP_MAX_INDEX } from '../crypto/srtcp-transform.js';
