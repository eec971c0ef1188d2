// The parent's side of bench/helpers/server-process.ts: spawn, read its JSON
// line, send IPC requests, read its RSS and CPU from /proc, stop and clean up.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export interface ServerInfo {
  url: string;
  agentPort: number;
  dockerPort: number;
  caPem: string;
  adminToken: string;
}

export interface ProcSample {
  at: number;
  /** utime + stime, seconds. */
  cpuS: number;
  rssMb: number;
  peakRssMb: number;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export function procSample(pid: number): ProcSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { at: performance.now(), cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** CPU % of one core between two samples. */
export const cpuPercent = (a: ProcSample, b: ProcSample) => (100 * (b.cpuS - a.cpuS)) / ((b.at - a.at) / 1000);

export class ServerChild {
  readonly info: ServerInfo;
  readonly pid: number;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;

  private constructor(child: ChildProcess, dir: string, logFile: string, info: ServerInfo) {
    this.child = child;
    this.dir = dir;
    this.logFile = logFile;
    this.info = info;
    this.pid = child.pid!;
    child.on('message', (m: { id: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.value);
    });
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`server process exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** A new server; with `dir` (from a stopped one, see restart()) on that server's data. */
  static async start(env: Record<string, string> = {}, existingDir?: string): Promise<ServerChild> {
    const dir = existingDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-server-'));
    const logFile = path.join(dir, 'server.log');
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean), path.join(import.meta.dirname, 'server-process.ts'), path.join(dir, 'data')], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', log, 'ipc'],
    });
    fs.closeSync(log);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = readline.createInterface({ input: child.stdout! });
        rl.once('line', (l) => {
          rl.close();
          resolve(l);
        });
        child.once('exit', (code) => reject(new Error(`server process exited with ${code} before it was ready; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`)));
      });
      return new ServerChild(child, dir, logFile, JSON.parse(line) as ServerInfo);
    } catch (err) {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  request<T>(msg: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...msg, id });
    });
  }

  /** Log lines the server wrote (level warn and up by default), grouped by message. */
  logSummary(): [string, number][] {
    const counts = new Map<string, number>();
    for (const line of fs.readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean)) {
      let msg = line.slice(0, 120);
      try {
        const j = JSON.parse(line) as { msg?: string; level?: number };
        msg = `[${j.level}] ${j.msg}`;
      } catch {
        // not JSON (a crash trace): keep the raw start of the line
      }
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]);
  }

  /** Stops this server and starts a new one on the same data (enrolled hosts, CA): a server restart. */
  async restart(env: Record<string, string> = {}): Promise<ServerChild> {
    await this.stop(30_000, true);
    return ServerChild.start(env, this.dir);
  }

  /** Graceful stop with a deadline, then SIGKILL; removes the data directory unless `keepDir`. */
  async stop(timeoutMs = 30_000, keepDir = false): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.request({ op: 'stop' }).catch(() => this.child.kill('SIGKILL'));
      await exited;
      clearTimeout(timer);
    }
    if (!keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
