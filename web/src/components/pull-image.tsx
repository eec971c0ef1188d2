// Pulling an image with the engine's progress: the pull answers NDJSON
// (one engine message a line), shown as one progress line while it runs.
import { useState } from 'preact/hooks';
import { api, path, ApiError } from '../api.ts';
import { ErrorNote } from './ui.tsx';

interface PullMessage { status?: string; id?: string; progress?: string; error?: string; image?: string }

/** Reads an NDJSON body line by line. */
async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<PullMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value, { stream: !done });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line) as PullMessage;
    }
    if (done) break;
  }
  if (buffered.trim()) yield JSON.parse(buffered) as PullMessage;
}

/** One line for the whole pull: the latest layer's state and how many layers are done. */
function progressLine(latest: PullMessage, layers: Map<string, string>): string {
  const done = [...layers.values()].filter((s) => /^(Pull complete|Already exists)/.test(s)).length;
  const what = [latest.id, latest.status, latest.progress].filter(Boolean).join(' ');
  return layers.size ? `${what} (${done}/${layers.size} layers done)` : what;
}

export function PullImage({ host, onPulled }: { host: string; onPulled: () => void }) {
  const [progress, setProgress] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const pull = async (image: string) => {
    setBusy(true);
    setError(undefined);
    setProgress(`Pulling ${image}…`);
    try {
      // The stream is read here rather than through api(), which parses whole bodies; the CSRF token comes from the session.
      const { csrfToken } = await api<{ csrfToken?: string }>('GET', '/auth/me');
      const res = await fetch(`/api/v1${path`/hosts/${host}/images/pull`}?progress=true`, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson', ...(csrfToken ? { 'x-flotilla-csrf': csrfToken } : {}) },
        body: JSON.stringify({ image }),
      });
      if (!res.ok || !res.body) {
        const e = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
        throw new ApiError(res.status, e.error ?? 'error', e.message ?? `HTTP ${res.status}`);
      }
      const layers = new Map<string, string>();
      for await (const m of ndjson(res.body)) {
        if (m.error) throw new Error(m.error);
        if (m.status === 'done') {
          setProgress(`Pulled ${m.image ?? image}`);
          break;
        }
        if (m.id && m.status && !m.status.startsWith('Pulling from')) layers.set(m.id, m.status);
        setProgress(progressLine(m, layers));
      }
      onPulled();
    } catch (err) {
      setProgress(undefined);
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card inline-form" aria-label="pull an image" onSubmit={(e) => {
      e.preventDefault();
      const image = String(new FormData(e.currentTarget).get('image') ?? '').trim();
      if (image) void pull(image);
    }}>
      <label>Image to pull<input name="image" required maxLength={512} placeholder="nginx:1.27 or registry:5000/app:tag" /></label>
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Pulling…' : 'Pull'}</button>
      <p class="pull-progress mono" role="status" aria-live="polite" aria-label="pull progress">{progress ?? ''}</p>
      <ErrorNote message={error} />
    </form>
  );
}
