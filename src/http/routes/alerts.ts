import type { FastifyInstance } from 'fastify';
import type { AlertBook } from '../../alerts/alert-book.js';
import { ValidationError } from '../../core/errors.js';
import { bearerGuard } from '../bearer.js';

export interface AlertRoutesDeps {
  alerts: AlertBook;
  /** ACCESS_TOKEN: when set, making and deleting alerts need it too (reading them needs it like every read). */
  accessToken: string | undefined;
}

function parseId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) {
    throw new ValidationError(`Invalid alert id ${JSON.stringify(raw)}`, [{ index: 0, field: 'id', message: 'must be a whole number (the id of an alert)' }]);
  }
  return Number(raw);
}

/** POST /api/alerts (201), GET /api/alerts, DELETE /api/alerts/:id (204, 404 for an unknown id). */
export function registerAlertRoutes(app: FastifyInstance, deps: AlertRoutesDeps): void {
  const guard = bearerGuard(deps.accessToken, 'ACCESS_TOKEN');

  app.post('/api/alerts', { onRequest: guard }, async (request, reply) => {
    const alert = await deps.alerts.create(request.body);
    return reply.code(201).send(alert);
  });

  app.get('/api/alerts', async () => deps.alerts.list());

  app.delete<{ Params: { id: string } }>('/api/alerts/:id', { onRequest: guard }, async (request, reply) => {
    const id = parseId(request.params.id);
    if (!(await deps.alerts.remove(id))) return reply.code(404).send({ error: `No alert with id ${id}` });
    return reply.code(204).send();
  });
}
