// Pulling an image with the engine's progress: the pull answers NDJSON
// (one engine message a line), shown as one progress line while it runs.
import { useState } from 'preact/hooks';
import { path } from '../api.ts';
import { postNdjson } from '../ndjson.ts';
import { ErrorNote } from './ui.tsx';

interface PullMessage { status?: string; id?: string; progress?: string; error?: string; image?: string }

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
      const layers = new Map<string, string>();
      for await (const m of postNdjson<PullMessage>(`/api/v1${path`/hosts/${host}/images/pull`}?progress=true`, { image })) {
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
