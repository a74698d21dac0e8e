// POST /v1/sessions/join | ack | keepalive | leave | keys (receivers; programmes priced `session`). MAC-authenticated;
// each runs in one store transaction (src/server/authenticate.ts). docs/membership.md.
import type { FastifyPluginAsync } from 'fastify';
import { runClientRequest } from '../authenticate.js';
import type { ServerContext } from '../context.js';
import type { SessionManager } from '../sessions.js';
import type {
  SessionAckResponseBody,
  SessionJoinResponseBody,
  SessionKeepAliveResponseBody,
  SessionKeysResponseBody,
  SessionLeaveResponseBody,
} from '../wire.js';

export const sessionRoutes: FastifyPluginAsync<{ ctx: ServerContext; sessions: SessionManager }> = (
  app,
  { ctx, sessions },
) => {
  app.post('/v1/sessions/join', (req) =>
    runClientRequest<SessionJoinResponseBody>(ctx, req, 'join', (tx, auth, deny) =>
      sessions.join(tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/sessions/ack', (req) =>
    runClientRequest<SessionAckResponseBody>(ctx, req, 'session_ack', (tx, auth, deny) =>
      sessions.ack(tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/sessions/keepalive', (req) =>
    runClientRequest<SessionKeepAliveResponseBody>(ctx, req, 'keepalive', (tx, auth, deny) =>
      sessions.keepAlive(tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/sessions/leave', (req) =>
    runClientRequest<SessionLeaveResponseBody>(ctx, req, 'leave', (tx, auth, deny) =>
      sessions.leave(tx, auth, deny, req.body),
    ),
  );
  app.post('/v1/sessions/keys', (req) =>
    runClientRequest<SessionKeysResponseBody>(ctx, req, 'session_keys', (tx, auth, deny) =>
      sessions.keys(tx, auth, deny, req.body),
    ),
  );
  return Promise.resolve();
};
