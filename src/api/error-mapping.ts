// The one place where failures become HTTP answers: FlotillaError subclasses
// carry their status; zod validation errors name the field; anything else is a
// 500 that is logged with its stack and answered without internals.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { FlotillaError, HostTimeout, HostUnavailable, HostUnreachable } from '../errors.ts';

export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
  host?: string;
  requestId: string;
}

export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const where = err.validationContext ?? 'request';
    const field = first?.instancePath ? `${where}${first.instancePath.replaceAll('/', '.')}` : where;
    const message = err.validation.map((v) => `${where}${v.instancePath.replaceAll('/', '.')}: ${v.message}`).join('; ');
    return reply.status(400).send({ error: 'bad_request', message, field, requestId: req.id } satisfies ErrorBody);
  }
  if (err instanceof FlotillaError) {
    const body: ErrorBody = { error: err.code, message: err.message, requestId: req.id };
    if ('field' in err && typeof err.field === 'string') body.field = err.field;
    if (err instanceof HostUnreachable || err instanceof HostTimeout || err instanceof HostUnavailable) body.host = err.host;
    if (err.statusCode >= 500) req.log.warn({ err: { type: err.name, message: err.message } }, 'request failed');
    return reply.status(err.statusCode).send(body);
  }
  const fe = err as FastifyError;
  // Fastify's own client errors: malformed JSON, body too large, wrong content type.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply.status(fe.statusCode).send({ error: fe.code ?? 'bad_request', message: fe.message, requestId: req.id } satisfies ErrorBody);
  }
  if (isDatabaseUnavailable(err)) {
    req.log.warn({ err: (err as Error).message }, 'the database cannot be reached');
    return reply.status(503).header('retry-after', '5').send({
      error: 'database_unavailable', message: 'the database cannot be reached right now; try again when it is back (GET /readyz says when)', requestId: req.id,
    } satisfies ErrorBody);
  }
  req.log.error({ err }, 'unhandled error');
  return reply.status(500).send({ error: 'internal', message: 'internal server error', requestId: req.id } satisfies ErrorBody);
}

// PostgreSQL's connection-failure classes (08…), an administrator's shutdown or termination (57P0x), and
// the socket errors of a pool that cannot reach the server: none is the request's fault.
const DB_CODES = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH']);
const DB_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|is not currently accepting connections|the database system is (shutting down|starting up)/i;

function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; severity?: unknown };
  if (typeof e?.message === 'string' && DB_MESSAGES.test(e.message)) return true;
  if (typeof e?.code !== 'string' || !DB_CODES.has(e.code)) return false;
  // A SQLSTATE counts on an error the server sent (it has a severity); a socket code on the pool's own
  // "connect …" failure. (An engine's socket errors arrive here as HostUnreachable, answered above.)
  return /^[0-9A-Z]{5}$/.test(e.code) ? typeof e.severity === 'string' : /^connect /.test(String(e.message));
}
