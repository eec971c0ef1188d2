// An agent as a child process, optionally inside a lab node's network namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export interface AgentProcess {
  child: ChildProcess;
  dir: string;
  /** Every JSON line the agent printed so far (see agent-main.ts). */
  events: { event: string; [k: string]: unknown }[];
  /** Resolves when a line with this event arrives (counting only lines after the call). */
  next(event: string, timeoutMs?: number): Promise<{ event: string; [k: string]: unknown }>;
  /** Like next(), but also satisfied by a line that already arrived. */
  seen(event: string, timeoutMs?: number): Promise<{ event: string; [k: string]: unknown }>;
  logs(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const MAIN = path.resolve(import.meta.dirname, 'agent-main.ts');

export function spawnAgent(opts: { netns?: string; env: Record<string, string>; dir?: string }): AgentProcess {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-agent-'));
  const node = process.execPath;
  const argv = [node, '--disable-warning=DEP0123', MAIN];
  const [cmd, ...args] = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', ...argv] : argv;
  const child = spawn(cmd!, args, {
    env: { ...process.env, FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: AgentProcess['events'] = [];
  const waiters: { event: string; resolve: (e: AgentProcess['events'][number]) => void }[] = [];
  let stderr = '';
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as AgentProcess['events'][number];
      if (typeof e.event !== 'string') return stderr += line + '\n';
      events.push(e);
      for (const w of waiters.filter((w) => w.event === e.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    } catch {
      stderr += line + '\n';
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    child, dir, events,
    next(event, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent did not report "${event}" within ${timeoutMs} ms; output:\n${stderr.slice(-3000)}`)), timeoutMs);
        waiters.push({ event, resolve: (e) => { clearTimeout(timer); resolve(e); } });
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`agent exited (${code}) before "${event}":\n${stderr.slice(-3000)}`)); });
      });
    },
    seen(event, timeoutMs) {
      const already = events.find((e) => e.event === event);
      return already ? Promise.resolve(already) : this.next(event, timeoutMs);
    },
    logs: () => stderr,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}
