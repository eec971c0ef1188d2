// One server-sent event stream for the whole app (/api/v1/events/stream).
// Pages subscribe by message type; the browser's EventSource reconnects and
// sends Last-Event-ID itself, so nothing is missed across a blip. When the
// server says `reset` (too much was missed) or drops us, every page reloads its state.
import { signal } from '@preact/signals';

export interface LiveMessage {
  id: number;
  type: string;
  host?: string;
  cluster?: string;
  at: string;
  data: any;
}

export const liveState = signal<'connecting' | 'live' | 'reconnecting'>('connecting');

const TYPES = ['docker', 'host.status', 'host.overlap', 'cluster.status', 'swarm.event', 'audit', 'update.check', 'update.step', 'update.run'];
const listeners = new Map<string, Set<(m: LiveMessage) => void>>();
const reloaders = new Set<() => void>();
let source: EventSource | undefined;

export function startLive(): void {
  if (source) return;
  source = new EventSource('/api/v1/events/stream');
  source.addEventListener('ready', () => { liveState.value = 'live'; });
  source.addEventListener('reset', () => reloaders.forEach((fn) => fn()));
  source.addEventListener('dropped', () => reloaders.forEach((fn) => fn()));
  source.onerror = () => { liveState.value = 'reconnecting'; };
  for (const type of TYPES) {
    source.addEventListener(type, (e) => {
      const m = JSON.parse((e as MessageEvent<string>).data) as LiveMessage;
      listeners.get(type)?.forEach((fn) => fn(m));
      listeners.get('*')?.forEach((fn) => fn(m));
    });
  }
}

export function stopLive(): void {
  source?.close();
  source = undefined;
  liveState.value = 'connecting';
}

/** Subscribe to one type (or '*'); returns the unsubscribe. Also told to reload after a reset. */
export function onLive(type: string, fn: (m: LiveMessage) => void, reload?: () => void): () => void {
  const set = listeners.get(type) ?? new Set();
  set.add(fn);
  listeners.set(type, set);
  if (reload) reloaders.add(reload);
  return () => {
    set.delete(fn);
    if (reload) reloaders.delete(reload);
  };
}
