// Builds the HTTP server: validation (zod), OpenAPI (generated from the same
// schemas), authentication, audit, metrics, error mapping and the route groups.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import type { AppContext } from './context.ts';
import { authenticateOrThrow, installAuthHooks, type RouteSummary } from './auth-hooks.ts';
import { installAuditHooks } from './audit-hooks.ts';
import { sendError } from './error-mapping.ts';
import { NotFound } from '../errors.ts';
import { healthRoutes } from './routes/health.ts';
import { sessionRoutes } from './routes/session.ts';
import { userRoutes } from './routes/users.ts';
import { auditRoutes } from './routes/audit.ts';
import { hostRoutes } from './routes/hosts.ts';
import { containerRoutes } from './routes/containers.ts';
import { containerRuntimeRoutes } from './routes/container-runtime.ts';
import { containerTerminalRoutes } from './routes/container-terminal.ts';
import { imageRoutes } from './routes/images.ts';
import { networkRoutes } from './routes/networks.ts';
import { volumeRoutes } from './routes/volumes.ts';
import { agentRoutes } from './routes/agents.ts';
import { clientCertRoutes } from './routes/client-certs.ts';
import { swarmClusterRoutes } from './routes/swarm-clusters.ts';
import { isPageRequest, registerWebAssets } from './web-assets.ts';
import { liveRoutes } from './routes/live.ts';
import { fleetViewRoutes } from './routes/fleet-views.ts';
import { swarmNodeRoutes } from './routes/swarm-nodes.ts';
import { swarmServiceRoutes } from './routes/swarm-services.ts';
import { swarmSecretRoutes } from './routes/swarm-secrets.ts';
import { swarmLifecycleRoutes } from './routes/swarm-lifecycle.ts';
import { swarmStackRoutes } from './routes/swarm-stacks.ts';
import { updateRoutes } from './routes/updates.ts';
import { registryRoutes } from './routes/registries.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { settingsRoutes } from './routes/settings.ts';

export const API_PREFIX = '/api/v1';

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteSummary[];
  }
}
import { VERSION } from '../version.ts';

export { VERSION };

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Our own onResponse hook logs one line per request, with the user.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4 * 1024 * 1024,
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID()),
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, req, reply) => {
    req.auditDetail = err instanceof Error ? err.message.slice(0, 500) : String(err);
    return sendError(err, req, reply);
  });
  await app.register(cookie);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Flotilla API', version: VERSION, description: 'One control plane for a fleet of Docker hosts.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'flotilla_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const routeTable = installAuthHooks(app, ctx);
  app.decorate('routeTable', routeTable);
  installAuditHooks(app, ctx);
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.labels(req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(reply.elapsedTime / 1000);
    req.log.info({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), user: req.user?.username }, 'request');
  });

  // A strict policy: scripts and styles only from our own origin (the Vite build emits no inline script).
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"],
        fontSrc: ["'self'"], objectSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'self'"], formAction: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  const sendShell = await registerWebAssets(app);
  app.get('/', { config: { access: 'asset', audit: false }, schema: { hide: true } }, (req, reply) => sendShell(req, reply));
  app.setNotFoundHandler(async (req, reply) => {
    // A page of the dashboard (a reload, a pasted link): the app routes it itself.
    if (isPageRequest(req)) return sendShell(req, reply);
    await authenticateOrThrow(ctx, req);
    throw new NotFound(`no route ${req.method} ${req.url.split('?')[0]}`);
  });

  await app.register(healthRoutes, { ctx });
  await app.register(async (api) => {
    api.get('/openapi.json', {
      config: { access: 'authenticated' },
      schema: { tags: ['meta'], summary: 'This OpenAPI document', response: { 200: z.record(z.string(), z.unknown()) } },
    }, async () => app.swagger() as unknown as Record<string, unknown>);
    await api.register(sessionRoutes, { ctx });
    await api.register(userRoutes, { ctx });
    await api.register(auditRoutes, { ctx });
    await api.register(hostRoutes, { ctx });
    await api.register(containerRoutes, { ctx });
    await api.register(containerRuntimeRoutes, { ctx });
    await api.register(containerTerminalRoutes, { ctx });
    await api.register(imageRoutes, { ctx });
    await api.register(networkRoutes, { ctx });
    await api.register(volumeRoutes, { ctx });
    await api.register(agentRoutes, { ctx });
    await api.register(clientCertRoutes, { ctx });
    await api.register(swarmClusterRoutes, { ctx });
    await api.register(swarmNodeRoutes, { ctx });
    await api.register(swarmServiceRoutes, { ctx });
    await api.register(swarmSecretRoutes, { ctx });
    await api.register(swarmLifecycleRoutes, { ctx });
    await api.register(swarmStackRoutes, { ctx });
    await api.register(updateRoutes, { ctx });
    await api.register(registryRoutes, { ctx });
    await api.register(notificationRoutes, { ctx });
    await api.register(liveRoutes, { ctx });
    await api.register(fleetViewRoutes, { ctx });
    await api.register(settingsRoutes, { ctx });
  }, { prefix: API_PREFIX });
  return app;
}
