// Forwards one Docker API call to one host, bytes unchanged both ways: the
// request body streams to the engine and the answer (logs follow, stats, pull
// progress …) streams back with no size cap and no idle cut-off while data flows.
// The path's API version is lowered to what the host speaks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { DockerClient } from '../docker/client.ts';
import { DEFAULT_TIMEOUT_MS } from '../docker/request.ts';
import { HostTimeout, HostUnreachable } from '../errors.ts';
import { minVersion } from './request-path.ts';
import { whenClientGone } from './client-gone.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

export function forwardHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k === 'authorization' || k.startsWith('x-flotilla-')) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** The engine path: the client's version, lowered to what the host negotiated. */
export async function enginePath(docker: DockerClient, clientVersion: string | undefined, pathAndQuery: string): Promise<string> {
  const hostVersion = await docker.negotiate({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) });
  return clientVersion ? `/v${minVersion(clientVersion, hostVersion)}${pathAndQuery}` : pathAndQuery;
}

export interface ForwardOptions {
  /** A body already read (and checked) by us; otherwise the request streams through. */
  body?: Buffer;
  /** Sees the engine's answer before it is sent, for calls whose answer we must learn from (exec create). */
  inspect?: (status: number, body: Buffer) => void;
  /** Sees a whole answer before it is sent; an error returned is thrown instead of relaying it (a Swarm manager that cannot take the call). */
  refuse?: (status: number, body: Buffer) => Error | undefined;
}

/** Answers up to this size that the engine sent with a length are copied in one write. */
const WHOLE_BODY_MAX = 1024 * 1024;
/**
 * A streamed answer's headers go out with its first bytes, or after this long
 * without any: `docker events` and `logs -f` wait for headers, while a list
 * answer saves a separate TLS record for them.
 */
const HEADER_FLUSH_MS = 20;

export async function forward(docker: DockerClient, req: IncomingMessage, res: ServerResponse, path: string, opts: ForwardOptions = {}): Promise<void> {
  const { transport } = docker;
  const ctl = new AbortController();
  // The client leaving early (even before we got here) aborts the engine call; once
  // the engine's whole answer is relayed there is nothing to abort (an abort costs a
  // DOMException). Not res.writableFinished: we may have answered ourselves (408).
  let relayed = false;
  whenClientGone(req, res, () => {
    if (!relayed) ctl.abort();
  });
  const headers = forwardHeaders(req.headers);
  const body: Buffer | Readable | null = opts.body ?? (req.method === 'GET' || req.method === 'HEAD' ? null : req);
  if (opts.body) headers['content-length'] = String(opts.body.length);
  if (ctl.signal.aborted) return;
  let answer;
  try {
    answer = await transport.dispatcher.request({
      origin: transport.origin, method: req.method as 'GET', path, headers, body, signal: ctl.signal,
      headersTimeout: DEFAULT_TIMEOUT_MS * 6, bodyTimeout: 0,
    });
  } catch (err) {
    // The client left while we asked: nobody to answer.
    if (ctl.signal.aborted) return;
    const e = err as Error & { code?: string };
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT') throw new HostTimeout(docker.label, `host "${docker.label}" did not answer ${req.method} ${path} in time`);
    throw new HostUnreachable(docker.label, `host "${docker.label}": ${e.message}`, { cause: err });
  }
  const outHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v;
  const length = Number(answer.headers['content-length'] ?? NaN);
  if (opts.inspect || (length >= 0 && length <= WHOLE_BODY_MAX)) {
    const buf = await wholeBody(answer.body);
    if (!buf) return;
    relayed = true;
    const refused = opts.refuse?.(answer.statusCode, buf);
    if (refused) throw refused;
    opts.inspect?.(answer.statusCode, buf);
    res.writeHead(answer.statusCode, { ...outHeaders, 'content-length': String(req.method === 'HEAD' ? length : buf.length) });
    res.end(req.method === 'HEAD' ? undefined : buf);
    return;
  }
  res.writeHead(answer.statusCode, outHeaders);
  await relay(answer.body, res);
  relayed = true;
}

async function wholeBody(body: Readable): Promise<Buffer | undefined> {
  try {
    return Buffer.from(await (body as Readable & { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer());
  } catch {
    return undefined; // the client left (the abort above) or the engine hung up: nothing to send
  }
}

/**
 * Copies a streamed answer to the client as it comes (logs -f, stats, pull progress),
 * with backpressure, until either side ends. Written out rather than with
 * stream.pipeline, whose per-call AbortController showed up in profiles.
 */
function relay(from: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const flush = setTimeout(() => res.flushHeaders(), HEADER_FLUSH_MS);
    const done = () => {
      clearTimeout(flush);
      resolve();
    };
    from.on('data', (chunk: Buffer) => {
      clearTimeout(flush);
      if (!res.write(chunk)) from.pause();
    });
    res.on('drain', () => from.resume());
    from.once('end', () => {
      res.end();
      done();
    });
    // The engine hung up mid-stream: end the client's answer the same way.
    from.once('error', () => {
      res.destroy();
      done();
    });
    // The client went away mid-stream (docker logs -f interrupted): stop reading from the engine.
    res.once('close', () => {
      if (!from.destroyed) from.destroy();
      done();
    });
  });
}
