// One delivery: POST, a deadline per attempt, retries with exponential backoff
// and jitter on network errors, timeouts, 5xx and 429 (Retry-After honoured);
// other 4xx and redirects are final. Error texts never carry the URL's path,
// query or credentials, nor the target's secret.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestBuilder } from './format.ts';
import type { OutgoingRequest } from './types.ts';

export interface RetryPolicy {
  /** Deadline of one attempt, answer body included. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles for each one after, jittered to 50–100 %. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this ends the delivery instead of waiting. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { timeoutMs: 10_000, maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

export interface AttemptOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  retryable: boolean;
  retryAfterMs?: number;
}

export interface DeliveryOutcome {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface DeliverOptions {
  policy: RetryPolicy;
  /** Removes secrets from any text that may end up in a log or a result. */
  scrub: (text: string) => string;
  /** Called before waiting for the next attempt. */
  onRetry?: (attempt: number, outcome: AttemptOutcome, delayMs: number) => void;
  /** Aborting stops waiting and ends the delivery (server shutdown). */
  signal?: AbortSignal;
}

export async function deliver(build: RequestBuilder, opts: DeliverOptions): Promise<DeliveryOutcome> {
  const { policy } = opts;
  let last: AttemptOutcome = { ok: false, retryable: false, error: 'not attempted' };
  for (let attempt = 1; attempt <= Math.max(1, policy.maxAttempts); attempt++) {
    last = await attemptOnce(build, policy.timeoutMs, opts.scrub);
    if (last.ok) return { ok: true, attempts: attempt, ...(last.status !== undefined ? { status: last.status } : {}) };
    if (!last.retryable || attempt >= policy.maxAttempts) return finished(last, attempt);
    let delay = backoff(attempt, policy);
    if (last.retryAfterMs !== undefined) {
      if (last.retryAfterMs > policy.maxRetryAfterMs) {
        return finished({ ...last, error: `${last.error}; Retry-After ${Math.ceil(last.retryAfterMs / 1000)} s is longer than ${Math.round(policy.maxRetryAfterMs / 1000)} s, not waiting` }, attempt);
      }
      delay = last.retryAfterMs;
    }
    opts.onRetry?.(attempt, last, delay);
    try {
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return finished({ ...last, error: `${last.error}; stopped before retrying (shutting down)` }, attempt);
    }
  }
  return finished(last, policy.maxAttempts);
}

function finished(o: AttemptOutcome, attempts: number): DeliveryOutcome {
  return { ok: false, attempts, ...(o.status !== undefined ? { status: o.status } : {}), error: o.error ?? 'failed' };
}

/** Exponential with "equal jitter": half fixed, half random, so retries of many targets spread out. */
export function backoff(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export async function attemptOnce(build: RequestBuilder, timeoutMs: number, scrub: (text: string) => string): Promise<AttemptOutcome> {
  const req = withUrlCredentials(build());
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal });
    const text = await readSome(res, 300);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, retryable: false };
    const detail = text.trim() ? `: ${scrub(text.trim().replace(/\s+/g, ' '))}` : '';
    if (res.status >= 300 && res.status < 400) {
      return { ok: false, status: res.status, retryable: false, error: `answered ${res.status} (a redirect; not followed, configure the final URL)` };
    }
    const retryable = res.status === 429 || res.status >= 500 || res.status === 408;
    const retryAfterMs = retryable ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
    return { ok: false, status: res.status, retryable, error: `answered ${res.status}${detail}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  } catch (err) {
    if (signal.aborted) return { ok: false, retryable: true, error: `no answer within ${timeoutMs} ms` };
    const e = err as Error & { cause?: { code?: string; message?: string } };
    // fetch reports every network failure as "fetch failed" with the cause; anything else is our own request being refused.
    const network = e.message === 'fetch failed';
    const cause = e.cause?.message ?? e.cause?.code ?? e.message;
    return { ok: false, retryable: network, error: scrub(network ? `network error: ${cause}` : `request not sent: ${cause}`) };
  }
}

/**
 * fetch refuses URLs with credentials; `https://user:pass@ntfy.example/topic` is how
 * many people write basic auth, so it becomes an Authorization header (unless
 * the target's secret already set one).
 */
function withUrlCredentials(req: OutgoingRequest): OutgoingRequest {
  let u: URL;
  try {
    u = new URL(req.url);
  } catch {
    return req;
  }
  if (!u.username && !u.password) return req;
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`, 'utf8').toString('base64');
  u.username = '';
  u.password = '';
  const headers = { ...req.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Basic ${basic}`;
  return { ...req, url: u.href, headers };
}

/** Seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Up to `max` characters of the answer (to say why it failed); the rest is discarded. */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, max);
}
