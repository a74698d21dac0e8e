// POST /v1/keys/segment (any enrolled client), POST /v1/keys/service and POST /v1/purchases/subscription
// (receivers), and POST /v1/sender/content-keys (senders). MAC-authenticated.
import type { FastifyPluginAsync } from 'fastify';
import { runClientRequest } from '../authenticate.js';
import { issueContentKey } from '../content-keys.js';
import type { ServerContext } from '../context.js';
import { deliverSegmentKey } from '../segment-keys.js';
import { deliverServiceKey, purchaseSubscription } from '../service-keys.js';
import type { ContentKeyResponseBody, SegmentKeyResponseBody, ServiceKeyResponseBody } from '../wire.js';

export const keyRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = (app, { ctx }) => {
  app.post('/v1/keys/segment', (req) =>
    runClientRequest<SegmentKeyResponseBody>(ctx, req, 'segment_key', (tx, auth, deny) =>
      deliverSegmentKey(ctx, tx, auth, deny, req.body),
    ),
  );
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
