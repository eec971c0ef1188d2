// The public shapes of Swarm services and their tasks: a list row with running
// and desired counts, one service with its update and rollback configuration, and
// a task with the node it runs on (hostname, and the Flotilla host if registered).
import { z } from 'zod';
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/swarm.ts';
import { fromEnginePolicy, policyViewSchema } from './service-spec.ts';

export const serviceSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  mode: z.enum(['replicated', 'global', 'replicated-job', 'global-job']),
  image: z.string(),
  /** Tasks running now, and the count the service asks for. */
  running: z.number(),
  desired: z.number(),
  replicas: z.number().nullable().describe('the replica count of a replicated service'),
  endpointMode: z.string(),
  ports: z.array(z.string()),
  updateState: z.string().nullable(),
  stack: z.string().nullable(),
  version: z.number().describe('Version.Index: send it back with an update'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ServiceSummary = z.infer<typeof serviceSummarySchema>;

export const serviceViewSchema = serviceSummarySchema.extend({
  updateMessage: z.string().nullable(),
  previousImage: z.string().nullable().describe('the image of the spec a rollback returns to'),
  constraints: z.array(z.string()),
  updateConfig: policyViewSchema,
  rollbackConfig: policyViewSchema,
  spec: z.record(z.string(), z.unknown()).describe('the engine ServiceSpec'),
  previousSpec: z.record(z.string(), z.unknown()).nullable(),
});
export type ServiceView = z.infer<typeof serviceViewSchema>;

export const taskViewSchema = z.object({
  id: z.string(),
  serviceId: z.string(),
  slot: z.number().nullable(),
  nodeId: z.string().nullable(),
  node: z.string().nullable().describe('the node\'s hostname'),
  host: z.string().nullable().describe('the registered Flotilla host that is this node'),
  desiredState: z.string(),
  state: z.string(),
  message: z.string(),
  error: z.string().nullable(),
  image: z.string().nullable(),
  containerId: z.string().nullable(),
  exitCode: z.number().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type TaskView = z.infer<typeof taskViewSchema>;

export function serviceMode(svc: SwarmService): ServiceSummary['mode'] {
  const mode = svc.Spec.Mode ?? {};
  if (mode.Global) return 'global';
  if ('ReplicatedJob' in mode) return 'replicated-job';
  if ('GlobalJob' in mode) return 'global-job';
  return 'replicated';
}

/** Tasks the orchestrator keeps (not being shut down): one per replica or per node. */
export function isCurrent(t: SwarmTask): boolean {
  return t.DesiredState === 'running' || t.DesiredState === 'ready';
}

/** Running now and meant to run, as `docker service ls` counts REPLICAS. */
export function taskCounts(svc: SwarmService, tasks: SwarmTask[]): { running: number; desired: number } {
  const mine = tasks.filter((t) => t.ServiceID === svc.ID);
  const running = mine.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
  const replicas = svc.Spec.Mode?.Replicated?.Replicas;
  const desired = serviceMode(svc) === 'replicated' ? (replicas ?? 1) : mine.filter(isCurrent).length;
  return { running, desired };
}

function formatPorts(svc: SwarmService): string[] {
  const ports = (svc.Spec.EndpointSpec?.Ports ?? []) as { TargetPort?: number; PublishedPort?: number; Protocol?: string; PublishMode?: string }[];
  return ports.map((p) => `${p.PublishedPort ? `${p.PublishedPort}:` : ''}${p.TargetPort}/${p.Protocol ?? 'tcp'}${p.PublishMode === 'host' ? ' (host)' : ''}`);
}

export function toServiceSummary(svc: SwarmService, tasks: SwarmTask[]): ServiceSummary {
  const { running, desired } = taskCounts(svc, tasks);
  return {
    id: svc.ID, name: svc.Spec.Name ?? svc.ID, mode: serviceMode(svc),
    image: svc.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
    running, desired, replicas: svc.Spec.Mode?.Replicated?.Replicas ?? null,
    endpointMode: String(svc.Spec.EndpointSpec?.Mode ?? 'vip'),
    ports: formatPorts(svc),
    updateState: svc.UpdateStatus?.State ?? null,
    stack: svc.Spec.Labels?.['com.docker.stack.namespace'] ?? null,
    version: svc.Version.Index, createdAt: svc.CreatedAt, updatedAt: svc.UpdatedAt,
  };
}

export function toServiceView(svc: SwarmService, tasks: SwarmTask[]): ServiceView {
  return {
    ...toServiceSummary(svc, tasks),
    updateMessage: svc.UpdateStatus?.Message ?? null,
    previousImage: svc.PreviousSpec?.TaskTemplate.ContainerSpec?.Image ?? null,
    constraints: svc.Spec.TaskTemplate.Placement?.Constraints ?? [],
    updateConfig: fromEnginePolicy(svc.Spec.UpdateConfig),
    rollbackConfig: fromEnginePolicy(svc.Spec.RollbackConfig),
    spec: svc.Spec as Record<string, unknown>,
    previousSpec: (svc.PreviousSpec as Record<string, unknown> | undefined) ?? null,
  };
}

/** Node ID → hostname (from the nodes) and → registered host name (from Flotilla's links). */
export interface NodeNames {
  hostname: Map<string, string>;
  host: Map<string, string>;
}

export function nodeNames(nodes: SwarmNode[], hosts: { name: string; nodeId: string | null }[]): NodeNames {
  return {
    hostname: new Map(nodes.map((n) => [n.ID, n.Description.Hostname])),
    host: new Map(hosts.filter((h) => h.nodeId).map((h) => [h.nodeId!, h.name])),
  };
}

export function toTaskView(t: SwarmTask, names: NodeNames): TaskView {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: t.ID, serviceId: t.ServiceID, slot: t.Slot ?? null, nodeId: t.NodeID ?? null,
    node: (t.NodeID && names.hostname.get(t.NodeID)) || null,
    host: (t.NodeID && names.host.get(t.NodeID)) || null,
    desiredState: t.DesiredState, state: t.Status.State, message: t.Status.Message ?? '', error: t.Status.Err || null,
    image: t.Spec.ContainerSpec?.Image ?? null,
    containerId: t.Status.ContainerStatus?.ContainerID || null,
    exitCode: t.Status.ContainerStatus?.ExitCode ?? null,
    createdAt: text(t.CreatedAt), updatedAt: text(t.UpdatedAt),
  };
}

/** As `docker service ps`: by slot (or node for global services), the newest task of each first. */
export function sortTasks(tasks: TaskView[]): TaskView[] {
  return [...tasks].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || (a.node ?? '').localeCompare(b.node ?? '') || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}
