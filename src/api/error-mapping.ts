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
  req.log.error({ err }, 'unhandled error');
  return reply.status(500).send({ error: 'internal', message: 'internal server error', requestId: req.id } satisfies ErrorBody);
}
