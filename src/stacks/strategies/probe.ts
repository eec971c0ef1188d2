// Checks run from inside a stack's network, the way the stack's own clients see
// it: a short-lived `replicated-job` service on that network runs a busybox
// loop (wget for the HTTP probe, nslookup for "who answers under this name"),
// prints one line per result, and is read back through the service logs, then
// removed. A job rather than a container: it works the same on direct and agent
// hosts (only the Engine API of a manager is needed) and Swarm places it on a
// node of the network.
import type { DockerClient } from '../../docker/client.ts';
import { getServiceLogs } from '../../docker/service-logs.ts';
import { createService, listTasks, removeService, type ServiceSpec, type SwarmTask } from '../../docker/swarm.ts';
import { NotFound } from '../../errors.ts';
import type { Swarm } from '../../swarm/swarm.ts';

export const PROBE_LABEL = 'flotilla.probe';

export interface JobInNetwork {
  swarm: Swarm;
  /** Cluster ID or name. */
  cluster: string;
  /** Network name or ID the job joins (it must be attachable or a swarm overlay the job can use). */
  network: string;
  /** An image with busybox's sh, wget, timeout and nslookup: the lab's busybox, or the service's own image if it has them. */
  image: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Placement constraints for the job's task, e.g. the probed service's own (its image is known to be pullable there). */
  constraints?: string[];
}

export interface ProbeRequest extends JobInNetwork {
  /** e.g. http://web_app-green:8080/health */
  url: string;
  requests: number;
}

export interface ProbeResult {
  ok: number;
  failed: number;
  /** Distinct failure reasons, in the order first seen. */
  errors: string[];
}

const JOB_POLL_MS = 300;
const REQUEST_TIMEOUT_S = 3;

/** Single-quoted for sh: the URL or name is data, never shell syntax. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `requests` HTTP GETs, one line each: `ok`, or `fail <wget's message>`. busybox wget here has no -T, hence `timeout`. */
function probeScript(url: string, requests: number): string {
  return [
    `u=${shellQuote(url)}; i=0`,
    `while [ $i -lt ${requests} ]; do i=$((i+1))`,
    `  if e=$(timeout ${REQUEST_TIMEOUT_S} wget -q -O /dev/null "$u" 2>&1); then echo ok; else echo "fail $(echo "\${e:-timed out after ${REQUEST_TIMEOUT_S} s}" | tr '\\n' ' ' | cut -c1-200)"; fi`,
    '  sleep 0.1',
    'done',
  ].join('\n');
}

/** HTTP GETs against `url` from a task on `network`: how many answered 2xx, how many did not, and why. */
export async function runProbe(req: ProbeRequest): Promise<ProbeResult> {
  const { lines, problem } = await runJobInNetwork(req, probeScript(req.url, req.requests));
  const result: ProbeResult = { ok: 0, failed: 0, errors: [] };
  const note = (e: string) => { if (!result.errors.includes(e)) result.errors.push(e); };
  for (const line of lines) {
    if (line === 'ok') result.ok++;
    else if (line.startsWith('fail')) {
      result.failed++;
      note(line.slice(5).trim() || 'failed');
    }
  }
  // A job that died early (no wget, no network) counts its missing requests as failed.
  const missing = req.requests - result.ok - result.failed;
  if (missing > 0) {
    result.failed += missing;
    note(problem ?? `the probe printed ${req.requests - missing} of ${req.requests} results`);
  }
  return result;
}

/** The IPv4 addresses `name` resolves to on `network`, as a task there sees them (Docker's embedded DNS). */
export async function resolveInNetwork(req: JobInNetwork & { name: string }): Promise<string[]> {
  const { lines, problem } = await runJobInNetwork(req, `nslookup ${shellQuote(req.name)} 2>&1; echo end`);
  if (!lines.includes('end')) throw new Error(`could not resolve ${req.name} on ${req.network}: ${problem ?? 'the lookup printed nothing'}`);
  // busybox prints the server first ("Address: 127.0.0.11:53"), then one "Address: <ip>" per answer after "Name:".
  const first = lines.findIndex((l) => l.startsWith('Name:'));
  if (first < 0) return [];
  return lines.slice(first + 1).flatMap((l) => /^Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1] ?? []);
}

/** Runs `script` once in a job on the network; its stdout lines, and why the task failed if it did. Always removes the job. */
export async function runJobInNetwork(job: JobInNetwork, script: string): Promise<{ lines: string[]; problem?: string }> {
  const on = <T>(fn: (d: DockerClient) => Promise<T>) => job.swarm.withManager(job.cluster, fn, { signal: job.signal });
  const spec: ServiceSpec = {
    Name: `flotilla-probe-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    Labels: { [PROBE_LABEL]: 'true' },
    TaskTemplate: {
      ContainerSpec: { Image: job.image, Command: ['sh', '-c', script] },
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: job.constraints ?? [] },
      Networks: [{ Target: job.network }],
    },
    // ServiceSpec's Mode type predates jobs (API 1.41); the engine takes it as is.
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } } as unknown as ServiceSpec['Mode'],
  };
  const { ID } = await on((d) => createService(d, spec));
  try {
    const task = await finishedTask(on, ID, job);
    const lines = (await on((d) => getServiceLogs(d, ID, { tail: 'all' }))).filter((l) => l.stream === 'stdout').map((l) => l.line.trim());
    const problem = task.Status.State === 'complete' ? undefined : `probe task ${task.Status.State}: ${task.Status.Err || task.Status.Message}`;
    return { lines, problem };
  } finally {
    // Removed even when aborted: no probe outlives its check.
    await job.swarm.withManager(job.cluster, (d) => removeService(d, ID)).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
  }
}

const DONE = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned']);

async function finishedTask(on: <T>(fn: (d: DockerClient) => Promise<T>) => Promise<T>, id: string, job: JobInNetwork): Promise<SwarmTask> {
  const deadline = Date.now() + job.timeoutMs;
  for (;;) {
    job.signal?.throwIfAborted();
    const tasks = await on((d) => listTasks(d, { filters: { service: [id] } }));
    const done = tasks.find((t) => DONE.has(t.Status.State));
    if (done) return done;
    if (Date.now() > deadline) {
      const t = tasks[0];
      throw new Error(`the probe job did not finish within ${Math.round(job.timeoutMs / 1000)} s${t ? ` (task ${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ''})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, JOB_POLL_MS));
  }
}
