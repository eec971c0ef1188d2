// What can be done to a service: scale (a replicated one), update its image,
// roll back to the previous spec, remove. Used by the services list and a service's page.
import { useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { ActionButton } from '../../components/ui.tsx';
import type { ServiceSummary } from './types.ts';

export function serviceApi(cluster: string, s: Pick<ServiceSummary, 'id' | 'name' | 'version'>) {
  const base = path`/swarm/clusters/${cluster}/services/${s.id}`;
  return {
    scale: (replicas: number) => api('POST', `${base}/scale`, { replicas }),
    updateImage: (image: string) => api('POST', `${base}/update`, { image, version: s.version }),
    rollback: () => api('POST', `${base}/rollback`),
    remove: () => api('DELETE', base),
  };
}

/** A number input and a button; the input follows the service's replica count until the user edits it. */
export function ScaleForm({ cluster, s, onDone, onError }: { cluster: string; s: ServiceSummary; onDone: () => void; onError: (m: string) => void }) {
  const [value, setValue] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  if (s.mode !== 'replicated') return null;
  const shown = value ?? String(s.replicas ?? 0);
  return (
    <form class="inline" aria-label={`scale ${s.name}`} onSubmit={async (e) => {
      e.preventDefault();
      const n = Number(shown);
      if (!Number.isInteger(n) || n < 0) return onError('replicas: a whole number, at least 0');
      setBusy(true);
      try {
        await serviceApi(cluster, s).scale(n);
        setValue(undefined);
        onDone();
      } catch (err) {
        onError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <input type="number" min={0} max={10000} step={1} class="replicas" aria-label={`replicas of ${s.name}`} value={shown}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={busy} aria-label={`scale ${s.name}`}>{busy ? '…' : 'scale'}</button>
    </form>
  );
}

export function UpdateImageForm({ cluster, s, onDone, onError }: { cluster: string; s: ServiceSummary; onDone: () => void; onError: (m: string) => void }) {
  const [image, setImage] = useState(s.image);
  const [busy, setBusy] = useState(false);
  return (
    <form class="inline" aria-label={`update the image of ${s.name}`} onSubmit={async (e) => {
      e.preventDefault();
      if (!image.trim() || image.trim() === s.image) return;
      setBusy(true);
      try {
        await serviceApi(cluster, s).updateImage(image.trim());
        onDone();
      } catch (err) {
        onError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <input class="mono image" aria-label={`new image for ${s.name}`} value={image} onInput={(e) => setImage((e.target as HTMLInputElement).value)} maxLength={512} />
      <button type="submit" disabled={busy} aria-label={`update image of ${s.name}`}>{busy ? '…' : 'update image'}</button>
    </form>
  );
}

export function RollbackButton({ cluster, s, onDone, onError }: { cluster: string; s: ServiceSummary; onDone: () => void; onError: (m: string) => void }) {
  return <ActionButton label="rollback" title={`rollback ${s.name}`} confirm={`Roll ${s.name} back to its previous spec?`}
    run={() => serviceApi(cluster, s).rollback().then(onDone)} onError={onError} />;
}

export function RemoveButton({ cluster, s, onDone, onError }: { cluster: string; s: ServiceSummary; onDone: () => void; onError: (m: string) => void }) {
  return <ActionButton label="remove" danger title={`remove ${s.name}`} confirm={`Remove the service ${s.name}? Its tasks stop.`}
    run={() => serviceApi(cluster, s).remove().then(onDone)} onError={onError} />;
}
