// Whether the agent holds its channel to the server, as a small file in its
// data directory, for a container HEALTHCHECK: `node src/agent/health-file.ts`
// exits 0 while the agent holds the channel, 1 with the reason when it does not.
//
// The agent writes it (trackChannelHealth) when the server's Welcome arrives,
// when the channel is lost, when it stops, and every few seconds while it is
// connected; the check also sees a hung agent (the file stops changing) and a
// dead one (the writer's process is gone), so a file left behind by an earlier
// container on the same volume never makes a new one look healthy.
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { RunnerEvents } from './runner.ts';

export const HEALTH_FILE_NAME = 'channel-health.json';
export const HEALTH_REFRESH_MS = 10_000;
/** Three refreshes missed: the agent's event loop is stuck, or the process is gone. */
export const HEALTH_STALE_AFTER_MS = 3 * HEALTH_REFRESH_MS;

export interface ChannelHealth {
  connected: boolean;
  /** Why not connected: `starting`, `stopped`, or the reason the channel ended. */
  reason: string | null;
  changedAt: string;
  updatedAt: string;
  pid: number;
  /** The writer's start time (/proc/<pid>/stat field 22), so a check tells a live writer from a reused pid. */
  pidStart: string | null;
}

export interface ChannelHealthTracker {
  /** Marks the channel `stopped` and stops refreshing (call when the agent stops). */
  stop(): Promise<void>;
}

const trackers = new WeakMap<object, ChannelHealthTracker>();

export function healthFilePath(clusterDir: string): string {
  return path.join(clusterDir, HEALTH_FILE_NAME);
}

/** Linux: this process's start time in clock ticks since boot; null where there is no /proc. */
function processStart(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Keeps `<clusterDir>/channel-health.json` in step with the runner's channel.
 * Attach it before the runner connects (in its constructor or before start());
 * attaching twice to one runner returns the first tracker.
 */
export function trackChannelHealth(runner: EventEmitter<RunnerEvents>, clusterDir: string, opts: { log?: Logger; refreshMs?: number } = {}): ChannelHealthTracker {
  const existing = trackers.get(runner);
  if (existing) return existing;
  const file = healthFilePath(clusterDir);
  const pidStart = processStart('self');
  let state = { connected: false, reason: 'starting' as string | null, changedAt: new Date().toISOString() };
  let refresh: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let warned = false;
  let stopped = false;

  const write = (): Promise<void> => {
    const body: ChannelHealth = { ...state, updatedAt: new Date().toISOString(), pid: process.pid, pidStart };
    // Writes queue up so an older state never lands after a newer one; no fsync: it says how things are now.
    writing = writing.then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await fsp.mkdir(clusterDir, { recursive: true, mode: 0o700 });
        await fsp.writeFile(tmp, `${JSON.stringify(body)}\n`, { mode: 0o644 });
        await fsp.rename(tmp, file);
        warned = false;
      } catch (err) {
        if (!warned) opts.log?.warn({ err: (err as Error).message, file }, 'could not write the channel health file; the container healthcheck will fail');
        warned = true;
      }
    });
    return writing;
  };
  const set = (connected: boolean, reason: string | null): void => {
    if (stopped) return;
    state = { connected, reason, changedAt: new Date().toISOString() };
    clearInterval(refresh);
    if (connected) {
      refresh = setInterval(() => void write(), opts.refreshMs ?? HEALTH_REFRESH_MS);
      refresh.unref();
    }
    void write();
  };
  const onConnected = () => set(true, null);
  const onDisconnected = (why: string) => set(false, why);
  runner.on('connected', onConnected);
  runner.on('disconnected', onDisconnected);
  // Replaces whatever an earlier agent left on this volume before anything else happens.
  void write();

  const tracker: ChannelHealthTracker = {
    async stop() {
      if (stopped) return writing;
      set(false, 'stopped');
      stopped = true;
      clearInterval(refresh);
      runner.off('connected', onConnected);
      runner.off('disconnected', onDisconnected);
      trackers.delete(runner);
      return writing;
    },
  };
  trackers.set(runner, tracker);
  return tracker;
}

export interface HealthVerdict {
  healthy: boolean;
  message: string;
}

/** Reads the file and says whether the agent holds its channel now. */
export async function checkChannelHealth(clusterDir: string, opts: { now?: number; staleAfterMs?: number } = {}): Promise<HealthVerdict> {
  const file = healthFilePath(clusterDir);
  let health: ChannelHealth;
  try {
    health = JSON.parse(await fsp.readFile(file, 'utf8')) as ChannelHealth;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { healthy: false, message: code === 'ENOENT' ? `no ${file}: the agent has not started (or does not write it)` : `cannot read ${file}: ${(err as Error).message}` };
  }
  if (!health.connected) return { healthy: false, message: `not connected to the server: ${health.reason ?? 'unknown'} (since ${health.changedAt})` };
  const age = (opts.now ?? Date.now()) - Date.parse(health.updatedAt);
  const staleAfter = opts.staleAfterMs ?? HEALTH_STALE_AFTER_MS;
  if (!(age <= staleAfter)) return { healthy: false, message: `the agent has not updated ${file} for ${Math.round(age / 1000)} s (stuck or gone)` };
  if (health.pidStart !== null) {
    const now = processStart(health.pid);
    // No /proc here at all: nothing to compare with. Else the writer must still be that same process.
    if (fs.existsSync('/proc/self/stat') && now !== health.pidStart) return { healthy: false, message: `the agent process that wrote ${file} (pid ${health.pid}) is gone` };
  }
  return { healthy: true, message: `connected to the server since ${health.changedAt}` };
}

// `node src/agent/health-file.ts [DIR]`: the container HEALTHCHECK. DIR defaults to the agent's FLOTILLA_CLUSTER_DIR.
if (import.meta.main) {
  const { loadAgentConfig } = await import('./config.ts');
  let dir = process.argv[2];
  try {
    dir ??= loadAgentConfig(process.env).clusterDir;
  } catch (err) {
    process.stdout.write(`unhealthy: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const verdict = await checkChannelHealth(dir);
  process.stdout.write(`${verdict.healthy ? 'healthy' : 'unhealthy'}: ${verdict.message}\n`);
  process.exit(verdict.healthy ? 0 : 1);
}
