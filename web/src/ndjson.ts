// Following an NDJSON answer (service logs, progress) over fetch: each complete
// line is parsed and handed on; the caller's signal ends it.
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
