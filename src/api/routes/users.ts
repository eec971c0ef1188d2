// User management (admins) and API tokens (every user, their own).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conflict, NotFound } from '../../errors.ts';
import { hashPassword } from '../../auth/passwords.ts';
import type { AppContext } from '../context.ts';
import { passwordSchema, roleSchema, tokenInfoSchema, usernameSchema, userSchema } from './user-schemas.ts';

const userParam = z.object({ user: z.string().min(1).max(128) });

export const userRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const findUser = async (idOrName: string) => {
    const u = await ctx.store.users.get(idOrName);
    if (!u) throw new NotFound(`user "${idOrName}" not found`);
    return u;
  };

  app.get('/users', {
    config: { permission: 'users.manage' },
    schema: { tags: ['users'], summary: 'List users', response: { 200: z.array(userSchema) } },
  }, async () => ctx.store.users.list());

  app.post('/users', {
    config: { permission: 'users.manage', audit: 'user.create' },
    schema: {
      tags: ['users'], summary: 'Create a user',
      body: z.object({ username: usernameSchema, password: passwordSchema, role: roleSchema }),
      response: { 201: userSchema },
    },
  }, async (req, reply) => {
    if (await ctx.store.users.get(req.body.username)) throw new Conflict(`user "${req.body.username}" already exists`);
    const user = await ctx.store.users.create(req.body.username, await hashPassword(req.body.password), req.body.role);
    req.auditDetail = `username=${user.username} role=${user.role}`;
    return reply.status(201).send(user);
  });

  app.patch('/users/:user', {
    config: { permission: 'users.manage', audit: 'user.update' },
    schema: {
      tags: ['users'], summary: 'Change a user\'s role or password',
      params: userParam,
      body: z.object({ role: roleSchema.optional(), password: passwordSchema.optional() }).refine((b) => b.role || b.password, 'give role or password'),
      response: { 200: userSchema },
    },
  }, async (req) => {
    const u = await findUser(req.params.user);
    if (req.body.role && req.body.role !== 'admin' && u.role === 'admin' && (await ctx.store.users.countAdmins()) <= 1) {
      throw new Conflict('cannot demote the last admin');
    }
    await ctx.store.users.update(u.id, {
      ...(req.body.role ? { role: req.body.role } : {}),
      ...(req.body.password ? { password_hash: await hashPassword(req.body.password) } : {}),
    });
    return findUser(u.id);
  });

  app.delete('/users/:user', {
    config: { permission: 'users.manage', audit: 'user.delete' },
    schema: { tags: ['users'], summary: 'Delete a user', params: userParam, response: { 204: z.null() } },
  }, async (req, reply) => {
    const u = await findUser(req.params.user);
    if (u.role === 'admin' && (await ctx.store.users.countAdmins()) <= 1) throw new Conflict('cannot delete the last admin');
    await ctx.store.users.remove(u.id);
    return reply.status(204).send(null);
  });

  app.get('/tokens', {
    config: { access: 'authenticated' },
    schema: { tags: ['tokens'], summary: 'List my API tokens (never the secrets)', response: { 200: z.array(tokenInfoSchema) } },
  }, async (req) => ctx.store.users.listTokens(req.user!.id));

  app.post('/tokens', {
    config: { access: 'authenticated', audit: 'token.create' },
    schema: {
      tags: ['tokens'], summary: 'Create an API token; the token is shown only in this answer',
      body: z.object({ name: z.string().min(1).max(100), ttlDays: z.number().int().min(1).max(3650).optional() }),
      response: { 201: tokenInfoSchema.extend({ token: z.string() }) },
    },
  }, async (req, reply) => {
    const { token, info } = await ctx.store.users.createToken(req.user!.id, req.body.name, req.body.ttlDays && req.body.ttlDays * 86400_000);
    req.auditDetail = `name=${info.name} prefix=${info.prefix}`;
    return reply.status(201).send({ ...info, token });
  });

  app.delete('/tokens/:token', {
    config: { access: 'authenticated', audit: 'token.delete' },
    schema: { tags: ['tokens'], summary: 'Revoke one of my API tokens', params: z.object({ token: z.string().min(1).max(64) }), response: { 204: z.null() } },
  }, async (req, reply) => {
    if (!(await ctx.store.users.deleteToken(req.user!.id, req.params.token))) throw new NotFound(`token "${req.params.token}" not found`);
    return reply.status(204).send(null);
  });
};
