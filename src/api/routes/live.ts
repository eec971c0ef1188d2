// GET /events/stream: the live bus as server-sent events. Filters by host and
// type; Last-Event-ID resumes where the client left off (or says `reset` when
// that is no longer possible); a client that cannot keep up is dropped with a
// `dropped` event instead of making the server buffer for it without bound.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { LiveMessage } from '../live-bus.ts';
import { roleAllows } from '../../auth/permissions.ts';
import type { User } from '../../store/users-repo.ts';
import type { AccessChange } from '../../store/access-events.ts';

/** Bytes a client may have waiting unsent before it is dropped. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const DRAIN_GRACE_MS = 30_000;

const list = z.string().max(4000).optional().transform((v) => (v ? new Set(v.split(',').map((s) => s.trim()).filter(Boolean)) : undefined));

export const liveRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/events/stream', {
    config: { permission: 'events.read', audit: false },
    schema: {
      tags: ['events'],
      summary: 'Live stream (server-sent events): Docker events, host and cluster status, swarm events, audit records',
      description: 'Each message is `event: <type>` with JSON data {id, type, host?, cluster?, at, data}. Reconnect with Last-Event-ID (header, or `lastEventId`) to get what was missed; `event: reset` means reload state instead. Audit records need audit.read. `event: closed` ends the stream when its API token is revoked, its user deleted or their role lowered (on any replica).',
      querystring: z.object({ hosts: list, types: list, lastEventId: z.string().max(64).optional() }),
    },
  }, async (req, reply) => {
    const { hosts, types } = req.query;
    const canAudit = roleAllows(req.user!.role, 'audit.read');
    const wanted = (m: LiveMessage) => (!types || types.has(m.type)) && (!hosts || (m.host !== undefined && hosts.has(m.host)))
      && (m.type !== 'audit' || canAudit);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let closed = false;
    const send = (event: string, id: string | undefined, data: unknown) => {
      if (closed) return;
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        closed = true;
        // Nothing more is queued: the notice goes last, after what is already waiting; a client that
        // never reads again is cut off after DRAIN_GRACE_MS, so what it holds stays bounded in time too.
        res.end(`event: dropped\ndata: ${JSON.stringify({ reason: `this client fell ${MAX_BACKLOG_BYTES} bytes behind; reconnect to resume` })}\n\n`);
        setTimeout(() => res.destroy(), DRAIN_GRACE_MS).unref();
      }
    };
    const deliver = (m: LiveMessage) => {
      if (wanted(m)) send(m.type, ctx.live.idOf(m), m);
    };
    res.write('retry: 2000\n\n');
    const last = (req.headers['last-event-id'] as string | undefined) ?? req.query.lastEventId;
    if (last) {
      const missed = ctx.live.since(last);
      if (missed) missed.forEach(deliver);
      else send('reset', undefined, { reason: 'the messages since your last one are no longer kept: reload the state' });
    }
    const unsubscribe = ctx.live.subscribe(deliver);
    // Access taken away (here or, through the replica bus, on another replica): the stream ends at once.
    const stopWatchingAccess = ctx.store.access.subscribe((change) => {
      const why = withdrawnBy(change, req.user!, req.tokenId);
      if (!why || closed) return;
      closed = true;
      res.end(`event: closed\ndata: ${JSON.stringify({ reason: why })}\n\n`);
      setTimeout(() => res.destroy(), 1000).unref();
    });
    const beat = setInterval(() => { if (!closed) res.write(': keep-alive\n\n'); }, HEARTBEAT_MS);
    send('ready', undefined, { epoch: ctx.live.epoch });
    res.on('close', () => {
      closed = true;
      clearInterval(beat);
      unsubscribe();
      stopWatchingAccess();
    });
  });
};

/** Why this change ends a stream opened by `user` (with API token `tokenId`), or undefined when it does not. */
function withdrawnBy(change: AccessChange, user: User, tokenId: string | undefined): string | undefined {
  switch (change.kind) {
    case 'token_revoked':
      return change.tokenId === tokenId ? 'the API token of this stream was revoked' : undefined;
    case 'user_removed':
      return change.userId === user.id ? 'the user of this stream was deleted' : undefined;
    case 'role_changed':
      // Lowered below what the stream was opened with (events, or audit records in it): reconnect under the new role.
      return change.userId === user.id && (['events.read', 'audit.read'] as const).some((p) => roleAllows(user.role, p) && !roleAllows(change.role, p))
        ? `the role of this stream's user changed to ${change.role}`
        : undefined;
    case 'cert_revoked':
      return undefined;
  }
}
