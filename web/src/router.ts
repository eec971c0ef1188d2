// A small history-API router: the current path as a signal, links that
// navigate without a reload, and patterns with :params.
import { signal } from '@preact/signals';

export const currentPath = signal(location.pathname + location.search);

export function navigate(to: string, replace = false): void {
  if (to === currentPath.value) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  currentPath.value = to;
}

addEventListener('popstate', () => {
  currentPath.value = location.pathname + location.search;
});

/** Same-origin link clicks navigate in place (modifier keys and new tabs keep the browser's behaviour). */
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('?')[0]!.split('/').filter(Boolean);
  if (p.length !== s.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) params[p[i]!.slice(1)] = decodeURIComponent(s[i]!);
    else if (p[i] !== s[i]) return undefined;
  }
  return params;
}

export function queryParam(name: string): string | null {
  return new URLSearchParams(currentPath.value.split('?')[1] ?? '').get(name);
}
