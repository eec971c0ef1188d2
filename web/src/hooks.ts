// Loading API data in components, and keeping it current from the live stream.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { onLive, type LiveMessage } from './live.ts';

export interface Resource<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads with `load` now and whenever `key` changes; `reload()` again on demand (keeps showing the old data meanwhile). */
export function useResource<T>(load: () => Promise<T>, key: unknown[] = []): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (mine === seq.current) setState({ data, loading: false }); },
      (err: Error) => { if (mine === seq.current) setState((s) => ({ ...s, error: err.message, loading: false })); },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, key);
  useEffect(reload, [reload]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Calls `refresh` (debounced) when a live message of `type` passes `filter`, and after a stream reset. */
export function useLiveRefresh(type: string, filter: (m: LiveMessage) => boolean, refresh: () => void, delayMs = 250): void {
  const latest = useRef({ filter, refresh });
  latest.current = { filter, refresh };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const soon = () => {
      if (timer) return;
      timer = setTimeout(() => { timer = undefined; latest.current.refresh(); }, delayMs);
    };
    const off = onLive(type, (m) => { if (latest.current.filter(m)) soon(); }, () => latest.current.refresh());
    return () => { off(); if (timer) clearTimeout(timer); };
  }, [type, delayMs]);
}
