// Associated data for every key wrap (AES-256-GCM, src/crypto/aead-wrap.ts). The AAD names what the wrapped key
// is and whom it is for, so a wrapped key copied into another context fails to unwrap.
//
// Each AAD is the UTF-8 of one ASCII line, fields separated by single spaces, numbers in decimal:
//
//   keycast/v1 psk>client client=<clientId> programme=<programmeId> segment=<segment> epoch=<epoch>
//       a programme segment key (PSK) for one client, under that client's wrap key (HKDF of UK)
//   keycast/v1 ck>client client=<clientId> programme=<programmeId> key=<keyId>
//       a content key (CK = SRTP master key ‖ master salt) for the sender, under the sender's wrap key
//   keycast/v1 ck>psk programme=<programmeId> segment=<segment> epoch=<epoch> key=<keyId>
//       a content key inside a key message, under the PSK of (programme, segment, epoch)
//   keycast/v1 sk>client client=<clientId> service=<serviceId> period=<YYYY-MM>
//       a service key (SK) of one subscription period, for a subscriber, under that client's wrap key
//   keycast/v1 psk>sk service=<serviceId> period=<YYYY-MM> programme=<programmeId> segment=<segment> epoch=<epoch>
//       a programme segment key inside a segment_key message, under the service key of (service, period)
//   keycast/v1 uk>master client=<clientId>
//   keycast/v1 sk>master service=<serviceId> period=<YYYY-MM>
//   keycast/v1 psk>master programme=<programmeId> segment=<segment> epoch=<epoch>
//   keycast/v1 ck>master programme=<programmeId> key=<keyId>
//       keys at rest in the store, under the server master key
//   keycast/v1 mk>client client=<clientId> programme=<programmeId>
//       a session member's individual member key (claim 15), under that client's wrap key (HKDF of UK)
//   keycast/v1 gk>mk programme=<programmeId> node=<nodeId> version=<version> member=<clientId>
//       a group tree node key (node 1 = the group key, version = group epoch), under a member key (src/keys/group/)
//   keycast/v1 gk>gk programme=<programmeId> node=<nodeId> version=<version> under=<nodeId> under-version=<version>
//       a group tree node key under another node key of the same programme's group
//
// `a>b` reads "a wrapped under b". Changing a string is a wire-format change: bump v1.

/**
 * Every AAD is ASCII (numbers, fixed words, a checked YYYY-MM): latin1 is its UTF-8, and Buffer.from is the
 * fastest way there (a group rekey builds tens of thousands).
 */
function ascii(line: string): Uint8Array {
  return Buffer.from(line, 'latin1');
}

/** One u32 check without building an object (the group AADs below are built tens of thousands of times a rekey). */
function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`AAD: ${name} must be a u32, got ${v}`);
}

function checkIds(ids: Record<string, number>): void {
  for (const name in ids) checkU32(name, ids[name]!);
}

const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

function checkPeriod(period: string): void {
  if (!PERIOD.test(period)) throw new RangeError(`AAD: period must be YYYY-MM, got ${period}`);
}

export function aadServiceKeyForClient(clientId: number, serviceId: number, period: string): Uint8Array {
  checkIds({ clientId, serviceId });
  checkPeriod(period);
  return ascii(`keycast/v1 sk>client client=${clientId} service=${serviceId} period=${period}`);
}

export function aadSegmentKeyUnderServiceKey(
  serviceId: number,
  period: string,
  programmeId: number,
  segment: number,
  epoch: number,
): Uint8Array {
  checkIds({ serviceId, programmeId, segment, epoch });
  checkPeriod(period);
  return ascii(
    `keycast/v1 psk>sk service=${serviceId} period=${period} programme=${programmeId} segment=${segment} epoch=${epoch}`,
  );
}

export function aadServiceKeyAtRest(serviceId: number, period: string): Uint8Array {
  checkIds({ serviceId });
  checkPeriod(period);
  return ascii(`keycast/v1 sk>master service=${serviceId} period=${period}`);
}

export function aadSegmentKeyForClient(
  clientId: number,
  programmeId: number,
  segment: number,
  epoch: number,
): Uint8Array {
  checkIds({ clientId, programmeId, segment, epoch });
  return ascii(
    `keycast/v1 psk>client client=${clientId} programme=${programmeId} segment=${segment} epoch=${epoch}`,
  );
}

export function aadContentKeyForClient(clientId: number, programmeId: number, keyId: number): Uint8Array {
  checkIds({ clientId, programmeId, keyId });
  return ascii(`keycast/v1 ck>client client=${clientId} programme=${programmeId} key=${keyId}`);
}

export function aadContentKeyUnderSegmentKey(
  programmeId: number,
  segment: number,
  epoch: number,
  keyId: number,
): Uint8Array {
  checkIds({ programmeId, segment, epoch, keyId });
  return ascii(`keycast/v1 ck>psk programme=${programmeId} segment=${segment} epoch=${epoch} key=${keyId}`);
}

export function aadClientKeyAtRest(clientId: number): Uint8Array {
  checkIds({ clientId });
  return ascii(`keycast/v1 uk>master client=${clientId}`);
}

export function aadSegmentKeyAtRest(programmeId: number, segment: number, epoch: number): Uint8Array {
  checkIds({ programmeId, segment, epoch });
  return ascii(`keycast/v1 psk>master programme=${programmeId} segment=${segment} epoch=${epoch}`);
}

export function aadContentKeyAtRest(programmeId: number, keyId: number): Uint8Array {
  checkIds({ programmeId, keyId });
  return ascii(`keycast/v1 ck>master programme=${programmeId} key=${keyId}`);
}

export function aadMemberKeyForClient(clientId: number, programmeId: number): Uint8Array {
  checkIds({ clientId, programmeId });
  return ascii(`keycast/v1 mk>client client=${clientId} programme=${programmeId}`);
}

export function aadGroupNodeKeyUnderMemberKey(
  programmeId: number,
  nodeId: number,
  version: number,
  memberId: number,
): Uint8Array {
  checkU32('programmeId', programmeId);
  checkU32('nodeId', nodeId);
  checkU32('version', version);
  checkU32('memberId', memberId);
  return ascii(
    `keycast/v1 gk>mk programme=${programmeId} node=${nodeId} version=${version} member=${memberId}`,
  );
}

export function aadGroupNodeKeyUnderNodeKey(
  programmeId: number,
  nodeId: number,
  version: number,
  underNodeId: number,
  underVersion: number,
): Uint8Array {
  checkU32('programmeId', programmeId);
  checkU32('nodeId', nodeId);
  checkU32('version', version);
  checkU32('underNodeId', underNodeId);
  checkU32('underVersion', underVersion);
  return ascii(
    `keycast/v1 gk>gk programme=${programmeId} node=${nodeId} version=${version} under=${underNodeId} under-version=${underVersion}`,
  );
}

/**
 * A content key of a session programme inside a content_key message, under the programme's group key at its full
 * u32 epoch (the entry's 16-bit epoch field carries only the low bits):
 *   keycast/v1 ck>group programme=<programmeId> epoch=<groupEpoch> key=<keyId>
 */
export function aadContentKeyUnderGroupKey(
  programmeId: number,
  groupEpoch: number,
  keyId: number,
): Uint8Array {
  checkIds({ programmeId, groupEpoch, keyId });
  return ascii(`keycast/v1 ck>group programme=${programmeId} epoch=${groupEpoch} key=${keyId}`);
}
