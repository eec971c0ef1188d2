// First-run setup, login and logout.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conflict, Forbidden, TooManyRequests, Unauthorized } from '../../errors.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../../auth/passwords.ts';
import { permissionsOf } from '../../auth/permissions.ts';
import { SESSION_COOKIE, csrfTokenFor } from '../auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { LoginLimiter } from '../login-limiter.ts';
import { userSchema, usernameSchema, passwordSchema } from './user-schemas.ts';

const SESSION_TTL_MS = 12 * 3600_000;

export const sessionRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const limiter = new LoginLimiter(ctx.config.loginRateLimit, 60_000);

  app.get('/setup', {
    config: { access: 'setup', audit: false },
    schema: { tags: ['auth'], summary: 'Whether first-run setup is still needed', response: { 200: z.object({ needed: z.boolean() }) } },
  }, async () => ({ needed: (await ctx.store.users.count()) === 0 }));

  app.post('/setup', {
    config: { access: 'setup', audit: 'setup.create_admin' },
    schema: {
      tags: ['auth'], summary: 'Create the first admin (needs the setup code printed by the server)',
      body: z.object({ setupCode: z.string().min(1).max(200), username: usernameSchema, password: passwordSchema }),
      response: { 201: userSchema },
    },
  }, async (req, reply) => {
    if (!limiter.allow(req.ip)) throw new TooManyRequests('too many attempts; wait a minute');
    if ((await ctx.store.users.count()) > 0) throw new Conflict('setup is already complete');
    if (!ctx.setupCode.matches(req.body.setupCode)) {
      limiter.fail(req.ip);
      throw new Forbidden('setup code is wrong: it is printed by the server at start and stored in <data dir>/setup-code');
    }
    const user = await ctx.store.users.createFirstAdmin(req.body.username, await hashPassword(req.body.password));
    if (!user) throw new Conflict('setup is already complete');
    ctx.setupCode.consume();
    req.user = user;
    return reply.status(201).send(user);
  });

  app.post('/auth/login', {
    config: { access: 'login', audit: false },
    schema: {
      tags: ['auth'], summary: 'Sign in; sets a session cookie',
      body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
      response: { 200: z.object({ user: userSchema, permissions: z.array(z.string()), csrfToken: z.string() }) },
    },
  }, async (req, reply) => {
    const key = req.ip;
    if (!limiter.allow(key)) throw new TooManyRequests('too many failed logins from this address; wait a minute');
    const row = await ctx.store.users.findWithHash(req.body.username);
    const ok = await verifyPassword(req.body.password, row?.password_hash ?? DUMMY_HASH);
    await ctx.store.audit.record({
      user_id: row?.id ?? null, username: req.body.username, action: 'auth.login', target: null,
      result: ok && row ? 'ok' : 'denied', detail: null, request_id: req.id, source_ip: req.ip,
    });
    if (!ok || !row) {
      limiter.fail(key);
      throw new Unauthorized('username or password is wrong');
    }
    const sessionId = await ctx.store.users.createSession(row.id, SESSION_TTL_MS);
    reply.setCookie(SESSION_COOKIE, sessionId, {
      path: '/', httpOnly: true, sameSite: 'strict', secure: ctx.config.secureCookies, maxAge: SESSION_TTL_MS / 1000,
    });
    const { password_hash: _hidden, ...user } = row;
    return { user, permissions: permissionsOf(row.role), csrfToken: csrfTokenFor(sessionId) };
  });

  app.post('/auth/logout', {
    config: { access: 'authenticated' },
    schema: { tags: ['auth'], summary: 'End the browser session', response: { 204: z.null() } },
  }, async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await ctx.store.users.deleteSession(sid);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send(null);
  });

  app.get('/auth/me', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['auth'], summary: 'Who am I (and, for a browser session, the CSRF token its changes must carry)',
      response: { 200: z.object({ user: userSchema, permissions: z.array(z.string()), via: z.string(), csrfToken: z.string().optional() }) },
    },
  }, async (req) => ({
    user: req.user!, permissions: permissionsOf(req.user!.role), via: req.authMethod ?? 'unknown',
    ...(req.authMethod === 'session' ? { csrfToken: csrfTokenFor(req.cookies[SESSION_COOKIE]!) } : {}),
  }));
};
