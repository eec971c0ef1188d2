// Small shared pieces: status badges, buttons that run an action and show its
// error, empty and error states, relative times.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`} data-status={value}>{value.replace('_', ' ')}</span>;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** 21600000 → "6 h", 90000 → "90 s": the largest whole unit. */
export function duration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** A button that runs an async action, disables itself meanwhile, and reports a failure through `onError`. */
export function ActionButton(props: { label: string; run: () => Promise<unknown>; onError?: (message: string) => void; danger?: boolean; confirm?: string; title?: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" class={props.danger ? 'danger' : ''} disabled={busy} title={props.title} aria-label={props.title ?? props.label}
      onClick={async () => {
        if (props.confirm && !confirm(props.confirm)) return;
        setBusy(true);
        try {
          await props.run();
        } catch (err) {
          props.onError?.((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>{busy ? '…' : props.label}</button>
  );
}

export function ErrorNote({ message }: { message: string | undefined }) {
  return message ? <p class="error" role="alert">{message}</p> : null;
}

export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page">
      <header class="page-head"><h1>{title}</h1><div class="page-actions">{actions}</div></header>
      {children}
    </section>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button type="button" onClick={async () => {
      await navigator.clipboard?.writeText(text).catch(() => undefined);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    }}>{done ? 'Copied' : label}</button>
  );
}
