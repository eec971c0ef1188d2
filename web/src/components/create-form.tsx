// A small create form: runs `onCreate` with the form's fields, resets on
// success, shows the server's error in place.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorNote } from './ui.tsx';

/** A small create form: runs `onCreate` with the form's fields, resets on success, shows the server's error. */
export function CreateForm(props: { label: string; submit: string; onCreate: (f: FormData) => Promise<void>; children: ComponentChildren }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <form class="card inline-form" aria-label={props.label} onSubmit={async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      setBusy(true);
      setError(undefined);
      try {
        await props.onCreate(new FormData(form));
        form.reset();
      } catch (err) {
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      {props.children}
      <button type="submit" class="primary" disabled={busy}>{busy ? '…' : props.submit}</button>
      <ErrorNote message={error} />
    </form>
  );
}
