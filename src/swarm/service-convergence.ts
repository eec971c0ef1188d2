// Waiting for a service to converge, as `docker service create|update` shows it:
// polls a manager until the tasks running the service's current spec number the
// desired count and no update is under way — or the update paused, or was rolled
// back by the engine — and reports progress whenever something changed.
import type { SwarmService, SwarmTask } from '../docker/swarm.ts';
import { listTasks } from '../docker/swarm.ts';
import { NotFound } from '../errors.ts';
import type { Swarm } from './swarm.ts';
import type { SwarmServices } from './services.ts';
import { isCurrent, taskCounts } from './service-view.ts';
import { z } from 'zod';

export const convergeOutcomes = ['converged', 'paused', 'rolled_back', 'timeout', 'removed'] as const;
export type ConvergeOutcome = (typeof convergeOutcomes)[number];

const taskProgressSchema = z.object({ slot: z.number().nullable(), nodeId: z.string().nullable(), state: z.string(), desiredState: z.string(), current: z.boolean().describe('runs the service\'s current spec') });
export const convergeProgressSchema = z.object({
  type: z.literal('progress'),
  service: z.string(),
  running: z.number(), desired: z.number(),
  updateState: z.string().nullable(), message: z.string().nullable(),
  /** The newest task failure seen while waiting. */
  lastError: z.string().nullable(),
  tasks: z.array(taskProgressSchema),
});
export const convergeDoneSchema = z.object({
  type: z.literal('done'),
  outcome: z.enum(convergeOutcomes),
  service: z.string(),
  running: z.number(), desired: z.number(),
  updateState: z.string().nullable(),
  message: z.string(),
  elapsedMs: z.number(),
});
export type ConvergeProgress = z.infer<typeof convergeProgressSchema>;
export type ConvergeDone = z.infer<typeof convergeDoneSchema>;
export type ConvergeEvent = ConvergeProgress | ConvergeDone;

export interface ConvergeOptions {
  timeoutMs: number;
  /** 'update': a rollback the engine did on its own is an outcome (rolled_back); 'any': a finished rollback is converged. */
  expect?: 'update' | 'any';
  pollMs?: number;
  signal?: AbortSignal;
}

const FAILED = new Set(['failed', 'rejected']);
/** A global service whose orchestrator has not made its tasks yet shows 0 of 0: wait this many polls before believing it. */
const GLOBAL_EMPTY_POLLS = 3;

/** What a task runs, for "does it run the current spec": the container spec and the force-update counter. */
function specKey(template: SwarmTask['Spec'] | undefined): string {
  return canonical({ c: template?.ContainerSpec ?? null, f: template?.ForceUpdate ?? 0 });
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Progress events while the service converges, then one `done` event. An unknown service is a NotFound before any event. */
export async function* convergeService(swarm: Swarm, services: SwarmServices, cluster: string, ref: string, options: ConvergeOptions): AsyncGenerator<ConvergeEvent> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 500;
  let last = '';
  let lastError: string | null = null;
  let emptyPolls = 0;
  let first = true;
  for (;;) {
    options.signal?.throwIfAborted();
    let state: { svc: SwarmService; tasks: SwarmTask[] };
    try {
      state = await swarm.withManager(cluster, async (docker) => {
        const svc = await services.find(docker, cluster, ref);
        return { svc, tasks: (await listTasks(docker, { filters: { service: [svc.ID] } })).filter((t) => t.ServiceID === svc.ID) };
      }, { signal: options.signal });
    } catch (err) {
      if (err instanceof NotFound && !first) {
        yield done('removed', ref, 0, 0, null, `service "${ref}" was removed while waiting`, started);
        return;
      }
      throw err;
    }
    first = false;
    const { svc, tasks } = state;
    const name = svc.Spec.Name ?? svc.ID;
    const key = specKey(svc.Spec.TaskTemplate);
    const current = tasks.filter(isCurrent);
    const { desired } = taskCounts(svc, tasks);
    const running = current.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && specKey(t.Spec) === key).length;
    const update = svc.UpdateStatus?.State ?? null;
    const message = svc.UpdateStatus?.Message ?? null;
    const failure = tasks
      .filter((t) => FAILED.has(t.Status.State) && Date.parse(String(t.Status.Timestamp ?? t.UpdatedAt ?? '')) >= started - 1000)
      .sort((a, b) => String(b.Status.Timestamp ?? '').localeCompare(String(a.Status.Timestamp ?? '')))[0];
    if (failure) lastError = `task ${failure.Slot ?? failure.NodeID ?? failure.ID}: ${failure.Status.Err || failure.Status.Message}`;

    const progress: ConvergeProgress = {
      type: 'progress', service: name, running, desired, updateState: update, message, lastError,
      tasks: current.map((t) => ({ slot: t.Slot ?? null, nodeId: t.NodeID ?? null, state: t.Status.State, desiredState: t.DesiredState, current: specKey(t.Spec) === key })),
    };
    const seen = JSON.stringify(progress);
    if (seen !== last) {
      last = seen;
      yield progress;
    }

    if (update === 'paused' || update === 'rollback_paused') {
      yield done('paused', name, running, desired, update, `update ${update === 'paused' ? 'paused' : 'rollback paused'}${message ? `: ${message}` : ''}`, started);
      return;
    }
    if (update === 'rollback_completed' && options.expect === 'update') {
      yield done('rolled_back', name, running, desired, update, `the engine rolled the update back${message ? `: ${message}` : ''}`, started);
      return;
    }
    const settled = update === null || update === 'completed' || update === 'rollback_completed';
    const stale = current.some((t) => specKey(t.Spec) !== key);
    emptyPolls = desired === 0 && svc.Spec.Mode?.Global ? emptyPolls + 1 : 0;
    const believable = !svc.Spec.Mode?.Global || desired > 0 || emptyPolls >= GLOBAL_EMPTY_POLLS;
    if (settled && !stale && running === desired && believable) {
      yield done('converged', name, running, desired, update, `${running}/${desired} tasks running`, started);
      return;
    }
    if (Date.now() - started > options.timeoutMs) {
      yield done('timeout', name, running, desired, update, `not converged after ${Math.round(options.timeoutMs / 1000)} s: ${running}/${desired} tasks running${update ? `, update ${update}` : ''}${lastError ? `; ${lastError}` : ''}`, started);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function done(outcome: ConvergeOutcome, service: string, running: number, desired: number, updateState: string | null, message: string, started: number): ConvergeDone {
  return { type: 'done', outcome, service, running, desired, updateState, message, elapsedMs: Date.now() - started };
}

/** Runs the wait to its end and gives the final event. */
export async function waitForConvergence(swarm: Swarm, services: SwarmServices, cluster: string, ref: string, options: ConvergeOptions): Promise<ConvergeDone> {
  for await (const e of convergeService(swarm, services, cluster, ref, options)) if (e.type === 'done') return e;
  throw new Error('convergence ended without a result');
}
