// Stacks and their deployments as the API shows them, and running a deploy
// (or a redeploy) with its progress: the POST answers NDJSON events, read here
// line by line as they come (api() reads whole bodies only).
import { api, path } from '../../api.ts';

export interface StackServiceState {
  name: string; id: string; image: string; mode: 'replicated' | 'global' | 'other';
  desired: number; running: number; failed: number; updateState: string | null; converged: boolean;
}
export interface StackState { name: string; services: StackServiceState[]; converged: boolean }

/** A task as the engine lists it (GET …/stacks/:stack/tasks answers the Engine API's shape). */
export interface EngineTask {
  ID: string; ServiceID: string; NodeID?: string; Slot?: number; DesiredState: string; UpdatedAt?: string;
  Status: { State: string; Message: string; Err?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } };
  Spec?: { ContainerSpec?: { Image?: string } };
}

export interface ServiceOutcome { name: string; action: string; outcome: string; message: string; running?: number; desired?: number }

export interface Deployment {
  id: string; cluster: string; stack: string; status: string; strategy: string;
  startedBy: string | null; startedAt: string; finishedAt: string | null; durationMs: number | null;
  redeployOf: string | null; error: string | null; warnings: string[]; outcome: ServiceOutcome[];
  options: { prune: boolean; resolveImage: string; strategyOptions?: StrategyOptions };
  compose?: string; env?: Record<string, string>;
}

export interface DeploymentDiff { from: string; to: string; services: { name: string; change: 'added' | 'removed' | 'changed'; fields: string[] }[] }

export interface StrategyOptions {
  services?: string[]; probe?: { port: number; path: string }; steps?: number[]; stepSeconds?: number; keepOldRunning?: boolean; removeOldAfterSeconds?: number;
}

export interface DeployBody {
  name: string; compose: string; env: Record<string, string>; files: Record<string, string>;
  prune: boolean; resolveImage: 'always' | 'changed' | 'never';
  strategy?: 'rolling' | 'blue-green' | 'canary'; strategyOptions?: StrategyOptions;
}

export type DeployEvent =
  | { type: 'step'; kind: string; name: string; action: string; image?: string; warnings?: string[] }
  | { type: 'warning'; message: string }
  | { type: 'strategy'; strategy: string; service: string; step: string; detail?: string }
  | { type: 'converge'; service: string; outcome: string; message: string }
  | { type: 'deployment'; id: string; status: string }
  | { type: 'done'; deployment: Deployment }
  | { type: 'error'; status?: number; message: string; field?: string };

export const deployUrl = (cluster: string) => `/api/v1${path`/swarm/clusters/${cluster}/stacks`}?progress=true`;
export const redeployUrl = (cluster: string, id: string) => `/api/v1${path`/swarm/clusters/${cluster}/deployments/${id}/redeploy`}?progress=true`;

/**
 * POSTs and hands on each event as it arrives. A refusal before the stream
 * starts (400 with the field, 403, 409) and a stream cut short both end in an
 * `error` event, so the caller always sees `done` or `error` last.
 */
export async function runDeploy(url: string, body: DeployBody | undefined, onEvent: (e: DeployEvent) => void): Promise<void> {
  try {
    const { csrfToken } = await api<{ csrfToken?: string }>('GET', '/auth/me');
    const res = await fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { accept: 'application/x-ndjson', ...(body ? { 'content-type': 'application/json' } : {}), ...(csrfToken ? { 'x-flotilla-csrf': csrfToken } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok || !res.body) {
      const e = (await res.json().catch(() => ({}))) as { message?: string; field?: string };
      onEvent({ type: 'error', status: res.status, message: e.message ?? `HTTP ${res.status}`, field: e.field });
      return;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    let finished = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (value) rest += value;
      const lines = rest.split('\n');
      rest = done ? '' : lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        const e = JSON.parse(line) as DeployEvent;
        if (e.type === 'done' || e.type === 'error') finished = true;
        onEvent(e);
      }
      if (done) break;
    }
    if (!finished) onEvent({ type: 'error', message: 'the progress stream ended before the deploy finished: the deployments list has its outcome' });
  } catch (err) {
    onEvent({ type: 'error', message: (err as Error).message });
  }
}

/** KEY=VALUE lines (blank lines and # comments skipped, `export ` and surrounding quotes dropped); a bad line is named. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`.env line ${i + 1}: expected KEY=VALUE, got "${line.slice(0, 60)}"`);
    let value = m[2]!;
    if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
    env[m[1]!] = value;
  });
  return env;
}

export function envText(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

/**
 * The files a Compose file names, found by a light look at its lines (not a
 * YAML parse): `file:` of secrets and configs, and `env_file:` as one value, a
 * flow list or a block list. The server says which it still misses.
 */
export function filesNamedIn(compose: string): string[] {
  const found = new Set<string>();
  const clean = (v: string) => v.trim().replace(/\s+#.*$/, '').replace(/^["']|["']$/g, '');
  const add = (v: string) => { const p = clean(v); if (p && !p.includes('${')) found.add(p); };
  const lines = compose.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let m = /^\s*(?:-\s+)?file:\s*(\S.*)$/.exec(line);
    if (m) { add(m[1]!); continue; }
    m = /^(\s*)env_file:\s*(.*)$/.exec(line);
    if (!m) continue;
    const value = m[2]!.replace(/\s+#.*$/, '').trim();
    if (value.startsWith('[')) value.replace(/^\[|\]$/g, '').split(',').forEach(add);
    else if (value) add(value);
    else {
      // A block list under env_file: (`- ./a.env`, or `- path: ./a.env` in the long form).
      const indent = m[1]!.length;
      for (let j = i + 1; j < lines.length; j++) {
        const next = lines[j]!;
        const t = next.trim();
        if (!t || t.startsWith('#')) continue;
        const at = next.length - next.trimStart().length;
        if (at < indent || (at === indent && !t.startsWith('-'))) break;
        const item = /^-\s+(?:path:\s*)?(.+)$/.exec(t) ?? /^path:\s*(.+)$/.exec(t);
        if (item && !/^\w+:(\s|$)/.test(item[1]!)) add(item[1]!);
      }
    }
  }
  return [...found];
}

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function stackHref(cluster: string, stack: string): string {
  return `/swarm/${encodeURIComponent(cluster)}/stacks/${encodeURIComponent(stack)}`;
}

export function deployHref(cluster: string, from?: string): string {
  return `/swarm/${encodeURIComponent(cluster)}/deploy${from ? `?from=${encodeURIComponent(from)}` : ''}`;
}
