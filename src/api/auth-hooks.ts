// Authentication and permission checks for every route, in one place.
// A route must declare `config.permission` or `config.access` (public kinds);
// one that declares neither fails at registration, so nothing is open by omission.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { Forbidden, Unauthorized } from '../errors.ts';
import { roleAllows, type Permission } from '../auth/permissions.ts';
import type { User } from '../store/users-repo.ts';
import type { AppContext } from './context.ts';
import { isPageRequest } from './web-assets.ts';

export const SESSION_COOKIE = 'flotilla_session';
/** Header a browser session must send with every state-changing request (the value from /auth/me or the login answer). */
export const CSRF_HEADER = 'x-flotilla-csrf';

/**
 * The CSRF token of a session: a hash of its id, which only the session's own
 * pages can learn (from /auth/me); another site can neither read the HttpOnly
 * cookie nor the token. Requests with a bearer token need none.
 */
export function csrfTokenFor(sessionId: string): string {
  return crypto.createHash('sha256').update(`flotilla-csrf:${sessionId}`).digest('hex');
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** health: always open; setup: open until the first admin exists; login: checks credentials itself; authenticated: any signed-in user; asset: the dashboard's static files (no data). */
export type Access = 'health' | 'setup' | 'login' | 'authenticated' | 'asset';

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
    access?: Access;
    /** Audit action name; defaults to "METHOD /route" for mutating methods. false: not audited. */
    audit?: string | false;
  }
  interface FastifyRequest {
    user?: User;
    authMethod?: 'session' | 'token';
    /** The API token that authenticated the request (authMethod 'token'). */
    tokenId?: string;
    auditDetail?: string;
  }
}

export function requireDeclaredAccess(route: RouteOptions): void {
  const cfg = (route.config ?? {}) as { permission?: Permission; access?: Access };
  if (!cfg.permission && !cfg.access && route.method !== 'HEAD') {
    throw new Error(`route ${String(route.method)} ${route.url} declares neither a permission nor an access kind`);
  }
}

async function authenticate(ctx: AppContext, req: FastifyRequest): Promise<User | undefined> {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new Unauthorized('Authorization header must be "Bearer <token>"');
    const found = await ctx.store.users.userForToken(m[1]!);
    if (!found) throw new Unauthorized('API token is invalid or expired');
    req.authMethod = 'token';
    req.tokenId = found.tokenId;
    return found.user;
  }
  const sessionId = req.cookies[SESSION_COOKIE];
  if (sessionId) {
    const user = await ctx.store.users.userForSession(sessionId);
    if (user) {
      req.authMethod = 'session';
      return user;
    }
  }
  return undefined;
}

export interface RouteSummary {
  method: string;
  url: string;
  permission?: Permission;
  access?: Access;
}

/** Installs the hooks; returns the route table as it fills, so a test can prove every route is guarded. */
export function installAuthHooks(app: FastifyInstance, ctx: AppContext): RouteSummary[] {
  let setupDone = false;
  const isSetupDone = async () => (setupDone ||= (await ctx.store.users.count()) > 0);
  const table: RouteSummary[] = [];

  app.addHook('onRoute', (route) => {
    requireDeclaredAccess(route);
    const cfg = (route.config ?? {}) as { permission?: Permission; access?: Access };
    for (const method of [route.method].flat()) table.push({ method, url: route.url, permission: cfg.permission, access: cfg.access });
  });
  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config;
    if (cfg.access === 'health' || cfg.access === 'login' || cfg.access === 'asset') return;
    // A page of the dashboard (reload, pasted link) gets the shell, which holds no data (web-assets.ts).
    if (req.is404 && isPageRequest(req)) return;
    if (cfg.access === 'setup' && !(await isSetupDone())) return;
    const user = await authenticate(ctx, req);
    if (!user) throw new Unauthorized('authentication required: sign in or send "Authorization: Bearer <token>"');
    req.user = user;
    if (req.authMethod === 'session' && MUTATING.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || sent !== csrfTokenFor(req.cookies[SESSION_COOKIE]!)) {
        throw new Forbidden(`a browser session must send the ${CSRF_HEADER} header from /api/v1/auth/me with every change`);
      }
    }
    if (cfg.permission && !roleAllows(user.role, cfg.permission)) {
      throw new Forbidden(`role "${user.role}" lacks permission "${cfg.permission}"`);
    }
  });
  return table;
}

/** For the not-found handler: unknown paths answer 401 to strangers, so the route table cannot be probed. */
export async function authenticateOrThrow(ctx: AppContext, req: FastifyRequest): Promise<User> {
  const user = await authenticate(ctx, req);
  if (!user) throw new Unauthorized('authentication required');
  return user;
}
