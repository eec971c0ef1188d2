// Every user-initiated operation (any mutating request, and any route that names
// an audit action) lands in the audit log with who, what, target, when, result.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from './context.ts';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function targetOf(req: FastifyRequest): string | null {
  const params = (req.params ?? {}) as Record<string, string>;
  const parts = ['cluster', 'host', 'node', 'service', 'id', 'name', 'user', 'token'].filter((k) => params[k]).map((k) => `${k}=${params[k]}`);
  return parts.length ? parts.join(' ') : null;
}

export function installAuditHooks(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onResponse', async (req, reply) => {
    const cfg = req.routeOptions.config;
    if (cfg.audit === false || !req.routeOptions.url) return;
    if (!cfg.audit && !MUTATING.has(req.method)) return;
    // Strangers hammering the API are not "user-initiated operations"; failed logins are audited by the login route.
    if (!req.user && reply.statusCode === 401) return;
    const status = reply.statusCode;
    try {
      await ctx.store.audit.record({
        user_id: req.user?.id ?? null,
        username: req.user?.username ?? null,
        action: cfg.audit || `${req.method} ${req.routeOptions.url}`,
        target: targetOf(req),
        result: status < 400 ? 'ok' : status === 403 ? 'denied' : 'error',
        detail: req.auditDetail ?? (status >= 400 ? `HTTP ${status}` : null),
        request_id: req.id,
        source_ip: req.ip,
      });
    } catch (err) {
      req.log.error({ err }, 'could not write audit record');
    }
  });
}
