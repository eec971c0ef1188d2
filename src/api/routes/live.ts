// GET /events/stream: the live bus as server-sent events. Filters by host and
// type; Last-Event-ID resumes where the client left off (or says `reset` when
// that is no longer possible); a client that cannot keep up is dropped with a
// `dropped` event instead of making the server buffer for it without bound.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { LiveMessage } from '../live-bus.ts';
import { roleAllows } from '../../auth/permissions.ts';

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
      description: 'Each message is `event: <type>` with JSON data {id, type, host?, cluster?, at, data}. Reconnect with Last-Event-ID (header, or `lastEventId`) to get what was missed; `event: reset` means reload state instead. Audit records need audit.read.',
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
    const beat = setInterval(() => { if (!closed) res.write(': keep-alive\n\n'); }, HEARTBEAT_MS);
    send('ready', undefined, { epoch: ctx.live.epoch });
    res.on('close', () => {
      closed = true;
      clearInterval(beat);
      unsubscribe();
    });
  });
};
