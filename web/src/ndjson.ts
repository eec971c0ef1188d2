// NDJSON answers read as they come (api() reads whole bodies only): following a
// GET (service logs, stats) until the caller's signal ends it, and the events of
// a POST that streams its progress (image pull, container update).
import { api, ApiError } from './api.ts';

export async function followNdjson<T>(url: string, signal: AbortSignal, onItems: (items: T[]) => void): Promise<void> {
  const res = await fetch(url, { signal, credentials: 'same-origin', headers: { accept: 'application/x-ndjson' } });
  if (!res.ok || !res.body) throw new Error(((await res.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
    const parts = rest.split('\n');
    rest = parts.pop()!;
    const items = parts.filter(Boolean).map((p) => JSON.parse(p) as T);
    if (items.length) onItems(items);
  }
}

/** POSTs `body` (with the session's CSRF token) and yields each line; a refusal before the stream starts throws ApiError with the server's message. */
export async function* postNdjson<T>(url: string, body: unknown): AsyncGenerator<T> {
  const { csrfToken } = await api<{ csrfToken?: string }>('GET', '/auth/me');
  const res = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson', ...(csrfToken ? { 'x-flotilla-csrf': csrfToken } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok || !res.body) {
    const e = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(res.status, e.error ?? 'error', e.message ?? `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value, { stream: !done });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line) as T;
    }
    if (done) break;
  }
  if (buffered.trim()) yield JSON.parse(buffered) as T;
}
