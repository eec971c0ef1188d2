// One HTTP exchange with a registry (or its token service) over undici: a
// deadline for the whole exchange, a bounded body, and every transport failure
// turned into a RegistryError a user can act on. No header is ever logged.
import { Agent, request, type Dispatcher } from 'undici';
import { RegistryError } from './errors.ts';

/** Manifests are small; distribution itself refuses manifests over 4 MiB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface RegistryAccess {
  /** host[:port] as in image references. */
  host: string;
  username?: string;
  password?: string;
  /** Plain HTTP (explicit opt-in). */
  insecure: boolean;
  /** HTTPS without verifying the certificate (explicit opt-in). */
  skipTlsVerify: boolean;
  /** Requests in flight to this registry at most. */
  concurrency: number;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpCall {
  /** The registry this request is for (stats and messages), not necessarily the URL's host. */
  registry: string;
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  skipTlsVerify: boolean;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** Short description for messages, e.g. `HEAD /v2/busybox/manifests/1`. */
  what: string;
}

export class HttpDispatchers {
  private readonly verifying = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  private readonly trusting = new Agent({ headersTimeout: 0, bodyTimeout: 0, connect: { rejectUnauthorized: false } });

  for(skipTlsVerify: boolean): Dispatcher {
    return skipTlsVerify ? this.trusting : this.verifying;
  }

  async close(): Promise<void> {
    await Promise.all([this.verifying.close(), this.trusting.close()]);
  }
}

/** Sends one request; resolves with any HTTP status, rejects with RegistryError (or the caller's abort reason). */
export async function exchange(dispatchers: HttpDispatchers, call: HttpCall): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  try {
    const res = await request(call.url, {
      method: call.method,
      headers: call.headers,
      dispatcher: dispatchers.for(call.skipTlsVerify),
      signal,
    });
    const body = call.method === 'HEAD' ? Buffer.alloc(0) : await readBounded(res.body, call);
    if (call.method === 'HEAD') await res.body.dump();
    return { status: res.statusCode, headers: res.headers, body };
  } catch (error) {
    if (call.signal?.aborted) throw call.signal.reason;
    if (error instanceof RegistryError) throw error;
    if (deadline.aborted) {
      throw new RegistryError('timeout', call.registry, `registry ${call.registry} did not answer ${call.what} within ${call.timeoutMs} ms`);
    }
    throw transportError(error, call);
  }
}

async function readBounded(body: Dispatcher.ResponseData['body'], call: HttpCall): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new RegistryError('bad_response', call.registry, `registry ${call.registry} answered ${call.what} with more than ${MAX_BODY_BYTES} bytes; that is not a manifest`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const TLS_HINT = 'if the registry uses a self-signed certificate, enable "skip TLS verify" for it';

function transportError(error: unknown, call: HttpCall): RegistryError {
  const code = errorCode(error);
  const where = `${call.url.protocol}//${call.url.host}`;
  const target = call.url.host === call.registry ? `registry ${call.registry}` : `registry ${call.registry} (${where})`;
  let why: string;
  if (code === 'ECONNREFUSED') why = `refused the connection to ${where}`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `has a name that does not resolve (${call.url.hostname})`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') why = `is not reachable from this server (${code})`;
  else if (code === 'UND_ERR_CONNECT_TIMEOUT') why = `did not accept a connection in time (${where})`;
  else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') why = `does not speak HTTPS at ${where}; if it serves plain HTTP, mark it insecure`;
  else if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) why = `presented a certificate this server does not trust (${code}); ${TLS_HINT}`;
  else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') why = `closed the connection during ${call.what}`;
  else why = `could not be reached for ${call.what} (${code ?? (error instanceof Error ? error.message : String(error))})`;
  return new RegistryError('unreachable', call.registry, `${target} ${why}`, { cause: error });
}

/** Node and undici put the code on the error or on its cause. */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return code;
  }
  return undefined;
}

/** First value of a header (undici gives arrays for repeated headers). */
export function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
