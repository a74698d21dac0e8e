// POST /v1/keys/segment (any enrolled client; by unicast, or by multicast to the clients gathered in a window), POST /v1/keys/service and POST /v1/purchases/subscription
// (receivers), and POST /v1/sender/content-keys (senders). MAC-authenticated.
import type { FastifyPluginAsync } from 'fastify';
import { runClientRequest } from '../authenticate.js';
import { issueContentKey } from '../content-keys.js';
import type { ServerContext } from '../context.js';
import { deliverSegmentKey, isAnsweredFromLog } from '../segment-keys.js';
import { deliverServiceKey, purchaseSubscription } from '../service-keys.js';
import { asProgrammeId, asSegmentIndex } from '../../ids.js';
import { REQUEST_HEADER_CLIENT } from '../../keys/request-auth.js';
import type {
  ContentKeyResponseBody,
  SegmentKeyAnswerBody,
  SegmentKeyResponseBody,
  ServiceKeyResponseBody,
} from '../wire.js';

export const keyRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = (app, { ctx }) => {
  app.post('/v1/keys/segment', async (req): Promise<SegmentKeyAnswerBody> => {
    const answer = await runClientRequest<SegmentKeyResponseBody>(ctx, req, 'segment_key', (tx, auth, deny) =>
      deliverSegmentKey(ctx, tx, auth, deny, req.body),
    );
    // Logged and committed: now the answer may wait for the collection window (claims 7, 8, 30-32).
    const clientId = Number(req.headers[REQUEST_HEADER_CLIENT]); // authenticated by now
    // A retry answered from the log goes by unicast: reposting a requestId must not re-multicast (amplification).
    const multicast =
      (req.body as { delivery?: unknown }).delivery === 'multicast' && !isAnsweredFromLog(answer);
    if (!multicast || ctx.segmentKeyBatcher === undefined) return { ...answer, delivery: 'unicast' };
    const batched = await ctx.segmentKeyBatcher.join(
      asProgrammeId(answer.programmeId),
      asSegmentIndex(answer.segment),
      answer.epoch,
      clientId,
      new Uint8Array(Buffer.from(answer.wrappedKey, 'base64')),
    );
    if (batched.delivery === 'unicast') return { ...answer, delivery: 'unicast' };
    const { requestId, programmeId, segment, epoch } = answer;
    return { requestId, programmeId, segment, epoch, delivery: 'multicast', messageSeq: batched.messageSeq };
  });
  app.post('/v1/keys/service', (req) =>
    runClientRequest<ServiceKeyResponseBody>(ctx, req, 'service_key', (tx, auth, deny) =>
      deliverServiceKey(ctx, tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/purchases/subscription', (req) =>
    runClientRequest<ServiceKeyResponseBody>(ctx, req, 'purchase', (tx, auth, deny) =>
      purchaseSubscription(ctx, tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/sender/content-keys', (req) =>
    runClientRequest<ContentKeyResponseBody>(ctx, req, 'content_key', (tx, auth, deny) =>
      issueContentKey(ctx, tx, auth, deny, req.body),
    ),
  );
  return Promise.resolve();
};
