// Sends one HTTP request to an engine with a deadline and maps every failure.
// Buffered calls: the deadline covers the whole exchange. Streams: headers only.
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Transport } from '../transports/types.ts';
import { CallDeadline } from './deadline.ts';
import { engineError, timeoutError, toHostError } from './errors.ts';
import type { CallContext } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

/** Default deadline for a call; long calls pass their own. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Calls that make the engine do real work: create, pull/push headers, prune, image remove. */
export const LONG_TIMEOUT_MS = 300_000;

export interface CallOptions {
  /** Deadline in ms; 0 disables it. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EngineRequest extends CallOptions {
  method: HttpMethod;
  /** Full path including any /vX.Y prefix and the query string. */
  path: string;
  /** What to call this request in messages, e.g. `GET /containers/json` (no version prefix). */
  what: string;
  /** Serialised as JSON. */
  json?: unknown;
  headers?: Record<string, string>;
}

export interface EngineResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

function requestOptions(transport: Transport, req: EngineRequest, signal: AbortSignal): Dispatcher.RequestOptions {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | undefined;
  if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['content-type'] = 'application/json';
  }
  return {
    origin: transport.origin,
    method: req.method,
    path: req.path,
    headers,
    body,
    signal,
    // Deadlines are ours (CallDeadline); undici's timers stay off (see transports/pool.ts).
    headersTimeout: 0,
    bodyTimeout: 0,
  };
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function rethrow(error: unknown, deadline: CallDeadline, call: CallContext): never {
  if (deadline.cancelledByCaller) throw error;
  throw toHostError(error, call);
}

/** Status ≥ 400 becomes NotFound / Conflict / DockerApiError; the body is consumed. */
async function failOnEngineError(response: Dispatcher.ResponseData, call: CallContext): Promise<void> {
  if (response.statusCode < 400) return;
  const text = (await readAll(response.body)).toString('utf8');
  throw engineError(response.statusCode, text, call);
}

/** Buffered call: resolves with the whole body once the engine has answered. */
export async function sendBuffered(transport: Transport, req: EngineRequest): Promise<{ status: number; body: Buffer }> {
  const call = { label: transport.label, what: req.what };
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new CallDeadline(timeoutMs, req.signal, () => timeoutError(call, timeoutMs));
  try {
    const response = await transport.dispatcher.request(requestOptions(transport, req, deadline.signal));
    await failOnEngineError(response, call);
    return { status: response.statusCode, body: await readAll(response.body) };
  } catch (error) {
    return rethrow(error, deadline, call);
  } finally {
    deadline.dispose();
  }
}

/**
 * Streaming call: resolves once headers arrive; the body then flows with no deadline
 * until it ends, the engine closes it, or the caller's signal aborts it.
 */
export async function sendStreaming(transport: Transport, req: EngineRequest): Promise<EngineResponse> {
  const call = { label: transport.label, what: req.what };
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new CallDeadline(timeoutMs, req.signal, () => timeoutError(call, timeoutMs));
  try {
    const response = await transport.dispatcher.request(requestOptions(transport, req, deadline.signal));
    await failOnEngineError(response, call);
    deadline.stopTimer();
    response.body.once('close', () => deadline.dispose());
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    deadline.dispose();
    return rethrow(error, deadline, call);
  }
}

/**
 * Yields a streaming body's chunks. A caller's abort ends the iteration quietly
 * (that is how a follow is stopped); anything else is mapped to a host error.
 */
export async function* bodyChunks(body: Readable, call: CallContext, signal?: AbortSignal): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) {
      // Chunks already buffered when the caller aborted are not delivered: abort means stop now.
      if (signal?.aborted === true) return;
      yield chunk as Buffer;
    }
  } catch (error) {
    if (signal?.aborted === true) return;
    throw toHostError(error, call);
  } finally {
    body.destroy();
  }
}
