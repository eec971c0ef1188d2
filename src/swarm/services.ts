// Swarm services of a cluster: create, inspect, list, update (at the version the
// caller read: a stale one is 409, never a lost write), scale, rollback, remove,
// tasks and logs. Every call goes to a manager through the Swarm facade (leader
// first, failover). What a caller may put in a spec is the route's to decide: it
// passes a SpecGate, run on the manager before the spec is written.
import type { DockerClient } from '../docker/client.ts';
import {
  createService, inspectService, listNodes, listServices, listTasks, removeService, updateService,
  type ServiceSpec, type SwarmService, type SwarmTask,
} from '../docker/swarm.ts';
import { followServiceLogs, getServiceLogs } from '../docker/service-logs.ts';
import { splitLines, type OutputLine } from '../docker/stream.ts';
import { BadRequest, Conflict, DockerApiError, NotFound } from '../errors.ts';
import type { Manager } from './manager-router.ts';
import type { Swarm } from './swarm.ts';
import { applyShortFields, specFromShortForm, type CreateServiceInput, type ServiceChanges } from './service-spec.ts';
import { nodeNames, sortTasks, toServiceSummary, toServiceView, toTaskView, isCurrent, type NodeNames, type ServiceSummary, type ServiceView, type TaskView } from './service-view.ts';

/** Checks a spec before it is written (the admin-only rule): `updating` is the service's ID for an update. Throws to refuse. */
export type SpecGate = (manager: Manager, spec: ServiceSpec, updating?: string) => Promise<void>;

export const MAX_SERVICE_LOG_LINES = 500;
/** A scale or rollback re-reads the version and tries again when the engine's own updater moved it in between. */
const SEQUENCE_RETRIES = 3;
const OUT_OF_SEQUENCE = /update out of sequence/i;

export interface WriteResult {
  id: string;
  name: string;
  /** The service's Version.Index after the write. */
  version: number;
  warnings: string[];
}

export interface ServiceLogLine {
  stream: OutputLine['stream'];
  line: string;
  timestamp?: string;
  task?: string;
  slot?: number;
  node?: string;
}

export class SwarmServices {
  private readonly swarm: Swarm;

  constructor(swarm: Swarm) {
    this.swarm = swarm;
  }

  /** Services with running/desired counts, live from a manager or from the last cluster sync. */
  async list(cluster: string, source: 'live' | 'inventory' = 'live'): Promise<ServiceSummary[]> {
    const { services, tasks } = source === 'inventory'
      ? { services: await this.swarm.inventory<SwarmService>(cluster, 'service'), tasks: await this.swarm.inventory<SwarmTask>(cluster, 'task') }
      : await this.swarm.withManager(cluster, async (docker) => {
        const [services, tasks] = await Promise.all([listServices(docker), listTasks(docker)]);
        return { services, tasks };
      });
    return services.map((s) => toServiceSummary(s, tasks)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async inspect(cluster: string, ref: string): Promise<ServiceView> {
    return this.swarm.withManager(cluster, async (docker) => {
      const svc = await this.find(docker, cluster, ref);
      return toServiceView(svc, await listTasks(docker, { filters: { service: [svc.ID] } }));
    });
  }

  async create(cluster: string, input: CreateServiceInput, gate: SpecGate): Promise<WriteResult> {
    const spec = specFromShortForm(input);
    return this.swarm.withManager(cluster, async (docker, manager) => {
      await gate(manager, spec);
      const created = await createService(docker, spec);
      const svc = await inspectService(docker, created.ID);
      return { id: created.ID, name: svc.Spec.Name ?? created.ID, version: svc.Version.Index, warnings: created.Warnings ?? [] };
    });
  }

  /** Replaces the whole spec, as the engine's update does; `version` is the Version.Index the caller's spec was based on. */
  async replaceSpec(cluster: string, ref: string, version: number, spec: ServiceSpec, gate: SpecGate): Promise<WriteResult> {
    return this.planned(cluster, ref, gate, false, (svc) => {
      if (svc.Version.Index !== version) throw staleVersion(svc, version);
      return { version, spec, becomes: spec };
    });
  }

  /** Applies changes to the spec the caller read at `version` (a stale version is 409 before anything is written). */
  async change(cluster: string, ref: string, version: number, changes: ServiceChanges, gate: SpecGate): Promise<WriteResult> {
    return this.planned(cluster, ref, gate, false, (svc) => {
      if (svc.Version.Index !== version) throw staleVersion(svc, version);
      const spec = applyShortFields(svc.Spec, changes);
      return { version, spec, becomes: spec };
    });
  }

  /** Sets the replica count at the current version (read here); a global service has none. */
  async scale(cluster: string, ref: string, replicas: number, gate: SpecGate): Promise<WriteResult> {
    return this.planned(cluster, ref, gate, true, (svc) => {
      if (!svc.Spec.Mode?.Replicated) throw new BadRequest(`service "${svc.Spec.Name}" is ${svc.Spec.Mode?.Global ? 'global (one task per node)' : 'a job'}: only a replicated service can be scaled`, 'body.replicas');
      const spec = applyShortFields(svc.Spec, { replicas });
      return { version: svc.Version.Index, spec, becomes: spec };
    });
  }

  /** As `docker service rollback`: the service goes back to its PreviousSpec (and that spec becomes the previous one). */
  async rollback(cluster: string, ref: string, gate: SpecGate): Promise<WriteResult & { image: string }> {
    let image = '';
    const result = await this.planned(cluster, ref, gate, true, (svc) => {
      if (!svc.PreviousSpec) throw new Conflict(`service "${svc.Spec.Name}" has no previous spec to roll back to (it was not updated since it was created)`);
      image = svc.PreviousSpec.TaskTemplate.ContainerSpec?.Image ?? '';
      // What the service becomes is the previous spec: that is what the gate judges.
      return { version: svc.Version.Index, spec: svc.Spec, rollback: 'previous', becomes: svc.PreviousSpec };
    });
    return { ...result, image };
  }

  async remove(cluster: string, ref: string): Promise<{ id: string; name: string }> {
    return this.swarm.withManager(cluster, async (docker) => {
      const svc = await this.find(docker, cluster, ref);
      await removeService(docker, svc.ID);
      return { id: svc.ID, name: svc.Spec.Name ?? svc.ID };
    });
  }

  /** The service's tasks with node and state; `all: false` leaves out tasks being shut down and history. */
  async tasks(cluster: string, ref: string, options: { all?: boolean } = {}): Promise<TaskView[]> {
    const hosts = (await this.swarm.get(cluster)).hosts;
    return this.swarm.withManager(cluster, async (docker) => {
      const svc = await this.find(docker, cluster, ref);
      const [tasks, nodes] = await Promise.all([listTasks(docker, { filters: { service: [svc.ID] } }), listNodes(docker)]);
      const names = nodeNames(nodes, hosts);
      return sortTasks(tasks.filter((t) => t.ServiceID === svc.ID && (options.all !== false || isCurrent(t))).map((t) => toTaskView(t, names)));
    });
  }

  /** The last `tail` lines of every task, each with its task, slot and node. */
  async logs(cluster: string, ref: string, options: { tail: number; timestamps?: boolean }): Promise<ServiceLogLine[]> {
    const hosts = (await this.swarm.get(cluster)).hosts;
    return this.swarm.withManager(cluster, async (docker) => {
      const svc = await this.find(docker, cluster, ref);
      const [lines, labels] = await Promise.all([
        getServiceLogs(docker, svc.ID, { tail: Math.min(options.tail, MAX_SERVICE_LOG_LINES), timestamps: options.timestamps, details: true }),
        taskLabels(docker, svc.ID, hosts),
      ]);
      return lines.map((l) => labelLine(l, labels, options.timestamps === true));
    });
  }

  /**
   * Follows the logs until `signal` aborts. The service is looked up first, so an
   * unknown one is a 404 before anything streams; tasks started later are named too.
   */
  async followLogs(cluster: string, ref: string, options: { tail: number; timestamps?: boolean; signal: AbortSignal }): Promise<AsyncGenerator<ServiceLogLine>> {
    const hosts = (await this.swarm.get(cluster)).hosts;
    const { docker, svc } = await this.swarm.withManager(cluster, async (docker) => ({ docker, svc: await this.find(docker, cluster, ref) }));
    let labels = await taskLabels(docker, svc.ID, hosts);
    let relabelledAt = Date.now();
    const frames = followServiceLogs(docker, svc.ID, { tail: Math.min(options.tail, MAX_SERVICE_LOG_LINES), timestamps: options.timestamps, details: true, signal: options.signal });
    async function* lines(): AsyncGenerator<ServiceLogLine> {
      for await (const l of splitLines(frames)) {
        let line = labelLine(l, labels, options.timestamps === true);
        if (line.task && line.slot === undefined && Date.now() - relabelledAt > 2000) {
          relabelledAt = Date.now(); // a task started after the follow began
          labels = await taskLabels(docker, svc.ID, hosts).catch(() => labels);
          line = labelLine(l, labels, options.timestamps === true);
        }
        yield line;
      }
    }
    return lines();
  }

  /** The service by ID, name or ID prefix, on this manager; unknown → 404 naming it. */
  async find(docker: DockerClient, cluster: string, ref: string): Promise<SwarmService> {
    try {
      return await inspectService(docker, ref);
    } catch (err) {
      if (err instanceof NotFound) throw new NotFound(`service "${ref}" not found in cluster "${cluster}"`);
      throw err;
    }
  }

  /**
   * One write: read the service on the manager, plan the spec from it, let the
   * gate judge what the service becomes, write at the planned version. When a
   * manager fails during the write and the next one takes the call, the write may
   * have landed already: a service that now holds what was planned is that write,
   * not a conflict. `retrySequence`: the plan is re-made when the engine's own
   * updater moved the version in between (scale, rollback: they name no version).
   */
  private async planned(cluster: string, ref: string, gate: SpecGate, retrySequence: boolean, plan: (svc: SwarmService) => WritePlan): Promise<WriteResult> {
    let sent: WritePlan | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.swarm.withManager(cluster, async (docker, manager) => {
          const svc = await this.find(docker, cluster, ref);
          if (sent && svc.Version.Index > sent.version && contains(svc.Spec, sent.becomes)) return written(svc, []);
          const next = plan(svc);
          await gate(manager, next.becomes, svc.ID);
          sent = next;
          let answer;
          try {
            answer = await updateService(docker, svc.ID, next.version, next.spec, { rollback: next.rollback });
          } catch (err) {
            if (err instanceof DockerApiError && OUT_OF_SEQUENCE.test(err.message)) throw staleVersion(await this.find(docker, cluster, svc.ID), next.version);
            throw err;
          }
          return written(await inspectService(docker, svc.ID), answer.Warnings ?? []);
        });
      } catch (err) {
        if (!retrySequence || !(err instanceof StaleVersion) || attempt >= SEQUENCE_RETRIES) throw err;
        sent = undefined;
      }
    }
  }
}

interface WritePlan {
  version: number;
  spec: ServiceSpec;
  rollback?: 'previous';
  /** The spec the service has once the write is done. */
  becomes: ServiceSpec;
}

function written(svc: SwarmService, warnings: string[]): WriteResult {
  return { id: svc.ID, name: svc.Spec.Name ?? svc.ID, version: svc.Version.Index, warnings };
}

/** Whether `actual` holds every value `expected` sets (the engine adds defaults of its own: Runtime, Isolation …). */
function contains(actual: unknown, expected: unknown): boolean {
  if (expected === undefined) return true;
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => contains(actual[i], e));
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  return actual === expected;
}

/** 409: the service changed after the caller read it. */
export class StaleVersion extends Conflict {}

function staleVersion(now: SwarmService, version: number): StaleVersion {
  return new StaleVersion(`service "${now.Spec.Name}" was changed since version ${version} that this update is based on (it is at version ${now.Version.Index} now): read it again and reapply the change`);
}

interface TaskLabels {
  names: NodeNames;
  slots: Map<string, number>;
}

async function taskLabels(docker: DockerClient, serviceId: string, hosts: { name: string; nodeId: string | null }[]): Promise<TaskLabels> {
  const [tasks, nodes] = await Promise.all([listTasks(docker, { filters: { service: [serviceId] } }), listNodes(docker)]);
  return { names: nodeNames(nodes, hosts), slots: new Map(tasks.filter((t) => t.Slot !== undefined).map((t) => [t.ID, t.Slot!])) };
}

// With details=true the engine starts each line with `[timestamp ]com.docker.swarm.node.id=…,…,com.docker.swarm.task.id=… `.
const DETAILS = /^((?:[\w.-]+=[^,\s]*,?)+) /;

function labelLine(l: OutputLine, labels: TaskLabels, timestamps: boolean): ServiceLogLine {
  let text = l.line;
  let timestamp: string | undefined;
  if (timestamps) {
    const space = text.indexOf(' ');
    if (space > 0) [timestamp, text] = [text.slice(0, space), text.slice(space + 1)];
  }
  const m = DETAILS.exec(text);
  if (!m) return { stream: l.stream, line: text, ...(timestamp ? { timestamp } : {}) };
  const attrs = new Map(m[1]!.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
  const task = attrs.get('com.docker.swarm.task.id');
  const nodeId = attrs.get('com.docker.swarm.node.id');
  const slot = task ? labels.slots.get(task) : undefined;
  return {
    stream: l.stream, line: text.slice(m[0].length),
    ...(timestamp ? { timestamp } : {}),
    ...(task ? { task } : {}),
    ...(slot !== undefined ? { slot } : {}),
    ...(nodeId ? { node: labels.names.hostname.get(nodeId) ?? nodeId } : {}),
  };
}
