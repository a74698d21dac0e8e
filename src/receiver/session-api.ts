// The session API of the key server (POST /v1/sessions/*) as src/receiver/session.ts uses it, over the
// KeyServerClient's session methods (joinSession, ackGroupKey, keepAlive, leaveSession, sessionKeys).
import { deriveClientWrapKey } from '../keys/client-key.js';
import { unwrapMemberKeyForClient } from '../keys/group/index.js';
import type { KeyServerClient } from '../server/client.js';
import type { SessionApi, SessionRefusal } from './session.js';

interface RefusalLike {
  readonly ok: false;
  readonly code: string;
  readonly retryable: boolean;
  readonly message: string;
  readonly removedBy?: string;
  readonly removedAtMs?: number;
}

function refused(r: RefusalLike): SessionRefusal {
  return {
    ok: false,
    code: r.code,
    retryable: r.retryable,
    message: r.message,
    ...(r.removedBy !== undefined && { removedBy: r.removedBy }),
    ...(r.removedAtMs !== undefined && { removedAtMs: r.removedAtMs }),
  };
}

export function sessionApi(client: KeyServerClient, programmeId: number): SessionApi {
  return {
    async join(requestId) {
      const r = await client.joinSession(programmeId, { requestId });
      if (!r.ok) return refused(r);
      const memberKey = openMemberKey(client, programmeId, r.memberKey);
      if (memberKey === undefined)
        return { ok: false, code: 'bad_key', retryable: false, message: 'the member key does not unwrap' };
      return {
        ok: true,
        memberId: r.memberId,
        mode: r.mode,
        memberKey,
        keepAliveIntervalMs: r.keepAliveIntervalMs,
        expiryMs: r.expiryMs,
        ackTimeoutMs: r.ackTimeoutMs,
        groupEpoch: r.groupEpoch,
        rekey: r.rekey,
      };
    },
    async ack(groupEpoch) {
      const r = await client.ackGroupKey(programmeId, groupEpoch);
      return r.ok ? { ok: true } : refused(r);
    },
    async keepAlive() {
      const r = await client.keepAlive(programmeId);
      return r.ok
        ? { ok: true, groupEpoch: r.groupEpoch, keepAliveIntervalMs: r.keepAliveIntervalMs }
        : refused(r);
    },
    async leave(requestId) {
      const r = await client.leaveSession(programmeId, { requestId });
      return r.ok ? { ok: true, leftAtMs: r.leftAtMs } : refused(r);
    },
    async keys() {
      const r = await client.sessionKeys(programmeId);
      return r.ok ? { ok: true, groupEpoch: r.groupEpoch, rekey: r.rekey } : refused(r);
    },
  };
}

/** The member key as answered (base64, wrapped under the client key), opened with the client key (claim 15). */
function openMemberKey(
  client: KeyServerClient,
  programmeId: number,
  wrapped: string,
): Uint8Array | undefined {
  const c = client.credentials;
  const wrapKey = deriveClientWrapKey(c.clientKey);
  const u = unwrapMemberKeyForClient(
    wrapKey,
    c.clientId,
    programmeId,
    new Uint8Array(Buffer.from(wrapped, 'base64')),
  );
  wrapKey.fill(0);
  return u.ok ? u.key : undefined;
}
