// The benchmark's side of bench/helpers/sim-fleet-process.ts: simulated agents
// split across a few child processes, driven over IPC, their counters summed.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { counters as Counters } from './sim-agent.ts';
import { procSample, type ProcSample } from './server-child.ts';

export type SimCounters = typeof Counters & { rssMb: number };

/** Runs fn over items with at most `limit` at a time; stops starting new ones after the first failure. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<{ done: R[]; error?: Error }> {
  const done: R[] = [];
  let error: Error | undefined;
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (!error && next < items.length) {
      const item = items[next++]!;
      try {
        done.push(await fn(item));
      } catch (err) {
        error ??= err as Error;
      }
    }
  }));
  return { done, error };
}

class SimFleetChild {
  readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  constructor() {
    // Heap room for a few thousand agents' TLS and gRPC state.
    this.child = fork(path.join(import.meta.dirname, 'sim-fleet-process.ts'), [], { execArgv: [...process.execArgv, '--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.value);
    });
    this.child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`simulated-agent process exited (${code ?? signal})`));
      this.pending.clear();
    });
  }
  request<T>(msg: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...msg, id });
    });
  }
}

/** `processes` children share the agents; enroll and connect run in all of them at once, `parallel` in flight in total. */
export class SimFleet {
  private readonly children: SimFleetChild[];
  names: string[] = [];
  constructor(processes: number) {
    this.children = Array.from({ length: processes }, () => new SimFleetChild());
  }

  get pids(): number[] {
    return this.children.map((c) => c.child.pid!);
  }

  /** CPU time and RSS of all children together (cpuS summed, rssMb summed). */
  sample(): ProcSample {
    const all = this.pids.map((pid) => procSample(pid));
    return { at: performance.now(), cpuS: all.reduce((s, x) => s + x.cpuS, 0), rssMb: all.reduce((s, x) => s + x.rssMb, 0), peakRssMb: all.reduce((s, x) => s + x.peakRssMb, 0) };
  }

  async enroll(addr: string, caPem: string, secret: string, n: number, parallel: number): Promise<{ done: number; errors: string[] }> {
    const k = this.children.length;
    const results = await Promise.all(this.children.map((c, i) => c.request<{ done: number; error?: string }>({
      op: 'enroll', addr, caPem, secret, parallel: Math.ceil(parallel / k),
      names: Array.from({ length: n }, (_, j) => j).filter((j) => j % k === i).map((j) => `sim-${j}`),
    })));
    return { done: results.reduce((s, r) => s + r.done, 0), errors: results.flatMap((r) => (r.error ? [r.error] : [])) };
  }

  async connect(addr: string, parallel: number): Promise<{ done: number; errors: string[] }> {
    const k = this.children.length;
    const results = await Promise.all(this.children.map((c) => c.request<{ names: string[]; error?: string }>({ op: 'connect', addr, parallel: Math.ceil(parallel / k) })));
    this.names = results.flatMap((r) => r.names);
    return { done: this.names.length, errors: results.flatMap((r) => (r.error ? [r.error] : [])) };
  }

  async counters(): Promise<SimCounters> {
    const all = await Promise.all(this.children.map((c) => c.request<SimCounters>({ op: 'counters' })));
    const sum = { ...all[0]! };
    for (const c of all.slice(1)) for (const k of Object.keys(sum) as (keyof SimCounters)[]) sum[k] += c[k];
    return sum;
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map(async (c) => {
      const exited = new Promise<void>((r) => (c.child.exitCode !== null ? r() : c.child.once('exit', () => r())));
      await c.request({ op: 'stop' }).catch(() => undefined);
      await exited;
    }));
  }
}
