// (stub: filled in by the Swarm work on this group)
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.ts';

export const swarmLifecycleRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
