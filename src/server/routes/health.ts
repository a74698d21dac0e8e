// GET /v1/health: unauthenticated liveness.
import type { FastifyPluginAsync } from 'fastify';

export const healthRoutes: FastifyPluginAsync = (app) => {
  app.get('/v1/health', () => ({ status: 'ok' }));
  return Promise.resolve();
};
