// Streams an async iterable to the client as newline-delimited JSON, and stops
// the producer when the client goes away (so a followed log never leaks).
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An AbortSignal that fires when the client disconnects. */
export function clientGone(req: FastifyRequest): AbortController {
  const ctl = new AbortController();
  req.raw.socket.once('close', () => ctl.abort());
  return ctl;
}

export function sendNdjson<T>(reply: FastifyReply, items: AsyncIterable<T>, ctl: AbortController, onError: (err: unknown) => unknown): FastifyReply {
  async function* lines() {
    try {
      for await (const item of items) yield JSON.stringify(item) + '\n';
    } catch (err) {
      if (!ctl.signal.aborted) yield JSON.stringify(onError(err)) + '\n';
    }
  }
  const body = Readable.from(lines());
  body.once('close', () => ctl.abort());
  reply.header('content-type', 'application/x-ndjson; charset=utf-8');
  reply.header('cache-control', 'no-store');
  reply.header('x-accel-buffering', 'no');
  return reply.send(body);
}
