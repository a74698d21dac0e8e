// GET /v1/programmes/:id: what a receiver or sender needs to join a programme. MAC-authenticated.
import type { FastifyPluginAsync } from 'fastify';
import { runClientRequest } from '../authenticate.js';
import type { ServerContext } from '../context.js';
import { validProgrammeId } from '../segment-keys.js';
import type { ProgrammeInfo } from '../wire.js';

export const programmeRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = (app, { ctx }) => {
  app.get<{ Params: { id: string } }>('/v1/programmes/:id', (req) =>
    runClientRequest<ProgrammeInfo>(ctx, req, 'programme', async (tx, _auth, deny) => {
      const id = validProgrammeId(/^[0-9]{1,10}$/.test(req.params.id) ? Number(req.params.id) : NaN);
      const p = id === undefined ? undefined : await tx.programmes.get(id);
      if (p === undefined)
        return deny('unknown_programme', `no programme ${req.params.id}`, { programmeId: id ?? null });
      const latestSegment = await tx.contentKeys.latestSegment(p.id);
      return {
        ok: true,
        body: {
          id: p.id,
          serviceId: p.serviceId,
          name: p.name,
          group: p.group,
          port: p.port,
          keyPort: p.keyPort,
          profile: p.profile,
          mkiLengthBytes: p.mkiLengthBytes,
          keyChange: p.keyChange,
          segmentLengthMs: p.segmentLengthMs,
          cryptoPeriodMs: p.cryptoPeriodMs,
          pricing: p.pricing,
          latestSegment: latestSegment ?? null,
        },
      };
    }),
  );
  return Promise.resolve();
};
