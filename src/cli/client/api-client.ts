// The CLI's HTTP client of the Flotilla REST API (/api/v1): JSON requests,
// NDJSON streams, and one mapping from failures to errors the CLI can print.
import type { z } from 'zod';

export const API_PREFIX = '/api/v1';
export const SESSION_COOKIE = 'flotilla_session';

/** The server answered with an error status; `message` is the server's own. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly requestId: string | undefined;
  constructor(status: number, body: { error?: string; message?: string; field?: string; requestId?: string }, fallback: string) {
    super(body.message || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error ?? 'http_error';
    this.field = body.field;
    this.requestId = body.requestId;
  }
}

/** Nothing answered at the server URL (refused, DNS, TLS, reset). */
export class ServerUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the Flotilla server at ${url}: ${describeNetworkError(cause)}`, { cause });
    this.name = 'ServerUnreachable';
  }
}

/** The answer was not what a Flotilla server sends (wrong URL, proxy page, malformed JSON). */
export class UnexpectedAnswer extends Error {}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  url: string;
  token?: string;
  /** `flotilla_session=…`, for the few calls made right after a password login. */
  cookie?: string;
  /** The session's CSRF token (from the login answer): a session's changes must carry it. */
  csrfToken?: string;
}

/** Builds an API path with every interpolated value URL-encoded: apiPath`/hosts/${name}`. */
export function apiPath(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += encodeURIComponent(String(v)) + (strings[i + 1] ?? '');
  });
  return out;
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #cookie: string | undefined;
  readonly #csrf: string | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.url;
    this.#token = options.token;
    this.#cookie = options.cookie;
    this.#csrf = options.csrfToken;
  }

  /** A JSON call. 204 gives undefined; a schema, when given, checks the answer's shape. */
  async request<T>(method: string, path: string, options: RequestOptions & { schema?: z.ZodType<T> } = {}): Promise<T> {
    const res = await this.send(method, path, options);
    if (res.status === 204) {
      await res.body?.cancel();
      return undefined as T;
    }
    const value = await readJson(res, this.url(path));
    if (!options.schema) return value as T;
    const parsed = options.schema.safeParse(value);
    if (!parsed.success) throw new UnexpectedAnswer(`unexpected answer from ${this.url(path)}: ${parsed.error.issues[0]?.message ?? 'wrong shape'}`);
    return parsed.data;
  }

  /** A call answered with newline-delimited JSON; yields each object as it arrives. */
  async *stream<T>(method: string, path: string, options: RequestOptions = {}): AsyncGenerator<T> {
    const res = await this.send(method, path, options);
    if (!res.body) return;
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('application/json')) {
      // The server answered the whole thing at once (e.g. a non-streaming form).
      yield (await readJson(res, this.url(path))) as T;
      return;
    }
    yield* readNdjson<T>(res.body);
  }

  /** Signs in with a password; returns the session cookie for follow-up calls. */
  /** Signs in with a password: the session cookie and the CSRF token its changes must carry. */
  async login(username: string, password: string): Promise<{ cookie: string; csrfToken: string | undefined }> {
    const res = await this.send('POST', '/auth/login', { body: { username, password } });
    const answer = (await readJson(res, this.url('/auth/login')).catch(() => ({}))) as { csrfToken?: string };
    const session = res.headers.getSetCookie()
      .map((c) => c.split(';')[0]!.trim())
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!session) throw new UnexpectedAnswer(`the server at ${this.baseUrl} accepted the login but set no session cookie`);
    return { cookie: session, csrfToken: answer.csrfToken };
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + API_PREFIX + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/x-ndjson' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#cookie) headers.cookie = this.#cookie;
    if (this.#csrf && method !== 'GET') headers['x-flotilla-csrf'] = this.#csrf;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, options.query), { method, headers, body, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new ServerUnreachable(this.baseUrl, err);
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (err.status === 401 && this.#token) err.message += ` — sign in again: flotilla login --url ${this.baseUrl} --username NAME`;
      throw err;
    }
    return res;
  }
}

async function readJson(res: Response, url: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UnexpectedAnswer(`unexpected answer from ${url} (status ${res.status}): not JSON — is this a Flotilla server?`);
  }
}

async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: Record<string, string | undefined> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, string | undefined>;
  } catch {
    // not JSON: a proxy or another server; the status line says enough
  }
  const fallback = `${res.status} ${res.statusText}`.trim() + (text && !body.message ? `: ${text.slice(0, 200)}` : '');
  return new ApiError(res.status, body, fallback);
}

/** Parses an NDJSON byte stream; a line cut across chunks is joined before parsing. */
export async function* readNdjson<T>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield parseLine<T>(line);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.decode();
  if (pending.trim()) yield parseLine<T>(pending.trim());
}

function parseLine<T>(line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new UnexpectedAnswer(`malformed line in the server's stream: ${line.slice(0, 120)}`);
  }
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'connection timed out';
  const message = cause?.message || (err as Error | undefined)?.message || String(err);
  return message === 'bad port' ? 'fetch refuses to connect to this port ("bad port" in the Fetch standard)' : message;
}
