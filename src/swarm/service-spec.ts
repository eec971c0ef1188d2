// What a client may send to create or change a Swarm service, checked before it
// reaches the engine (zod, the field named): a short form (name, image, replicas,
// ports …) that becomes an engine ServiceSpec, or a full engine ServiceSpec passed
// through with the fields we can check checked; and the reverse, a spec's update
// and rollback configuration in the short form.
import { z } from 'zod';
import type { ServiceSpec } from '../docker/swarm.ts';
import { BadRequest } from '../errors.ts';

/** Swarmkit's rule for object names (controlapi validateAnnotations): a DNS name component, ≤ 63. */
export const serviceName = z.string().min(1, 'a service name is required').max(63, 'at most 63 characters')
  .regex(/^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/, 'letters and digits, with - or _ between them (a DNS name component)');
const image = z.string().min(1, 'an image reference is required').max(512);
const envVar = z.string().max(64 * 1024).regex(/^[^=\s][^=]*=/, 'KEY=value');
const labels = z.record(z.string().min(1).max(256), z.string().max(4096));
const port = z.number().int().min(1).max(65535);
const constraint = z.string().max(512).regex(/^\s*[\w.-]+(?:\.[\w.-]+)*\s*(==|!=)\s*\S/, 'a placement constraint such as node.role==manager or node.labels.zone!=b');

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

/** A Go-style duration ("10s", "1m30s", "500ms") in nanoseconds, as the engine counts. */
export function parseDuration(text: string): number {
  let ns = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ns += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(ns);
}

export function formatDuration(ns: number | undefined): string | undefined {
  if (ns === undefined) return undefined;
  if (ns === 0) return '0s';
  if (ns % 1e9 !== 0) return `${ns / 1e6}ms`;
  const s = ns / 1e9;
  const [h, m, rest] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${rest ? `${rest}s` : ''}`;
}

const duration = z.string().regex(DURATION, 'a duration such as 10s, 1m30s or 500ms').transform(parseDuration);

/** `docker service update --update-*` and `--rollback-*`, in the short form. */
function policySchema(failureActions: readonly [string, ...string[]]) {
  return z.strictObject({
    parallelism: z.number().int().min(0).max(10_000).optional().describe('tasks updated at once (0: all)'),
    delay: duration.optional().describe('pause between batches'),
    failureAction: z.enum(failureActions).optional(),
    monitor: duration.optional().describe('how long a new task is watched for failure'),
    maxFailureRatio: z.number().min(0).max(1).optional(),
    order: z.enum(['stop-first', 'start-first']).optional(),
  });
}
export const updatePolicySchema = policySchema(['continue', 'pause', 'rollback']);
export const rollbackPolicySchema = policySchema(['continue', 'pause']);
export type UpdatePolicyInput = z.input<typeof updatePolicySchema>;
type PolicyOutput = z.output<typeof updatePolicySchema> | z.output<typeof rollbackPolicySchema>;

/** The short form's policy, merged over what the engine spec has (an update changes only what it names). */
export function toEnginePolicy(p: PolicyOutput, current: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  const set = (k: string, v: unknown) => { if (v !== undefined) out[k] = v; };
  set('Parallelism', p.parallelism);
  set('Delay', p.delay);
  set('FailureAction', p.failureAction);
  set('Monitor', p.monitor);
  set('MaxFailureRatio', p.maxFailureRatio);
  set('Order', p.order);
  return out;
}

/** An engine UpdateConfig / RollbackConfig in the short form (durations as text). */
export function fromEnginePolicy(p: Record<string, unknown> | undefined) {
  if (!p) return null;
  const n = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  const s = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  return {
    parallelism: n('Parallelism') ?? 0, delay: formatDuration(n('Delay')) ?? '0s', failureAction: s('FailureAction') ?? 'pause',
    monitor: formatDuration(n('Monitor')) ?? '0s', maxFailureRatio: n('MaxFailureRatio') ?? 0, order: s('Order') ?? 'stop-first',
  };
}
export const policyViewSchema = z.object({
  parallelism: z.number(), delay: z.string(), failureAction: z.string(), monitor: z.string(), maxFailureRatio: z.number(), order: z.string(),
}).nullable();

const portSchema = z.strictObject({
  target: port.describe('port inside the task'),
  published: port.optional(),
  protocol: z.enum(['tcp', 'udp', 'sctp']).default('tcp'),
  mode: z.enum(['ingress', 'host']).default('ingress').describe('host: published on the node running the task (no routing mesh)'),
});
const mountSchema = z.strictObject({
  type: z.enum(['bind', 'volume', 'tmpfs']).default('volume'),
  source: z.string().max(4096).optional(),
  target: z.string().min(1).max(4096).regex(/^\//, 'an absolute path inside the task'),
  readOnly: z.boolean().optional(),
});

/** Fields the short form shares between create and update. */
const shortFields = {
  image: image.optional(),
  command: z.array(z.string().max(64 * 1024)).max(1000).optional().describe('replaces the image\'s entrypoint'),
  args: z.array(z.string().max(64 * 1024)).max(1000).optional().describe('arguments (the image\'s CMD)'),
  env: z.array(envVar).max(1000).optional(),
  workdir: z.string().max(4096).optional(),
  user: z.string().max(256).optional(),
  labels: labels.optional().describe('service labels'),
  containerLabels: labels.optional(),
  replicas: z.number().int('a whole number').min(0, 'at least 0').max(10_000).optional(),
  endpointMode: z.enum(['vip', 'dnsrr']).optional().describe('dnsrr: no virtual IP (needed where the kernel has no IPVS)'),
  ports: z.array(portSchema).max(100).optional(),
  networks: z.array(z.string().min(1).max(256)).max(50).optional(),
  constraints: z.array(constraint).max(50).optional(),
  mounts: z.array(mountSchema).max(100).optional(),
  restartCondition: z.enum(['none', 'on-failure', 'any']).optional(),
  stopGracePeriod: duration.optional(),
  updateConfig: updatePolicySchema.optional(),
  rollbackConfig: rollbackPolicySchema.optional(),
};

// Engine shapes, checked where the engine would refuse (or silently misread) them; everything else passes through.
const enginePolicy = (actions: readonly [string, ...string[]]) => z.looseObject({
  Parallelism: z.number().int().min(0).optional(), Delay: z.number().int().min(0).optional(),
  FailureAction: z.enum(actions).optional(), Monitor: z.number().int().min(0).optional(),
  MaxFailureRatio: z.number().min(0).max(1).optional(), Order: z.enum(['stop-first', 'start-first']).optional(),
});
export const engineServiceSpecSchema = z.looseObject({
  Name: serviceName,
  Labels: labels.optional(),
  TaskTemplate: z.looseObject({
    ContainerSpec: z.looseObject({
      Image: image,
      Command: z.array(z.string()).optional(), Args: z.array(z.string()).optional(), Env: z.array(envVar).optional(),
      Labels: labels.optional(),
      Mounts: z.array(z.looseObject({ Type: z.enum(['bind', 'volume', 'tmpfs', 'npipe', 'cluster']).optional(), Target: z.string().min(1), Source: z.string().optional() })).optional(),
    }),
    RestartPolicy: z.looseObject({ Condition: z.enum(['none', 'on-failure', 'any']).optional(), Delay: z.number().int().min(0).optional(), MaxAttempts: z.number().int().min(0).optional() }).optional(),
    Placement: z.looseObject({ Constraints: z.array(constraint).optional() }).optional(),
    ForceUpdate: z.number().int().min(0).optional(),
  }),
  Mode: z.looseObject({
    Replicated: z.looseObject({ Replicas: z.number().int('a whole number').min(0, 'at least 0') }).optional(),
    Global: z.looseObject({}).optional(),
    ReplicatedJob: z.looseObject({}).optional(),
    GlobalJob: z.looseObject({}).optional(),
  }).refine((m) => Object.values(m).filter((v) => v !== undefined).length === 1, 'exactly one of Replicated, Global, ReplicatedJob, GlobalJob').optional(),
  UpdateConfig: enginePolicy(['continue', 'pause', 'rollback']).optional(),
  RollbackConfig: enginePolicy(['continue', 'pause']).optional(),
  EndpointSpec: z.looseObject({
    Mode: z.enum(['vip', 'dnsrr']).optional(),
    Ports: z.array(z.looseObject({
      TargetPort: port, PublishedPort: port.optional(), Protocol: z.enum(['tcp', 'udp', 'sctp']).optional(), PublishMode: z.enum(['ingress', 'host']).optional(),
    })).optional(),
  }).optional(),
});

export const createServiceBody = z.strictObject({
  name: serviceName.optional(),
  mode: z.enum(['replicated', 'global']).optional(),
  ...shortFields,
  spec: engineServiceSpecSchema.optional().describe('a full engine ServiceSpec instead of the short fields'),
}).superRefine((b, ctx) => {
  const short = Object.entries(b).filter(([k, v]) => k !== 'spec' && v !== undefined).map(([k]) => k);
  if (b.spec) {
    if (short.length) ctx.addIssue({ code: 'custom', path: [short[0]!], message: `give either spec or the short fields (${short.join(', ')}), not both` });
    return;
  }
  if (!b.name) ctx.addIssue({ code: 'custom', path: ['name'], message: 'a service name is required' });
  if (!b.image) ctx.addIssue({ code: 'custom', path: ['image'], message: 'an image reference is required' });
  if (b.mode === 'global' && b.replicas !== undefined) ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'a global service runs one task per node: it has no replica count' });
});
export type CreateServiceInput = z.output<typeof createServiceBody>;

/** Changes to a service's current spec: each field given replaces that part; envAdd/envRemove edit the environment. */
export const serviceChangesSchema = z.strictObject({
  ...shortFields,
  envAdd: z.array(envVar).max(1000).optional().describe('set these variables (KEY=value), keeping the others'),
  envRemove: z.array(z.string().min(1).max(256)).max(1000).optional().describe('remove these variables (by KEY)'),
  force: z.boolean().optional().describe('replace every task even if nothing else changed'),
});
export type ServiceChanges = z.output<typeof serviceChangesSchema>;

type ShortFields = Omit<ServiceChanges, 'envAdd' | 'envRemove' | 'force'>;

/** The engine spec of a short-form create. */
export function specFromShortForm(input: CreateServiceInput): ServiceSpec {
  if (input.spec) return input.spec as ServiceSpec;
  const base: ServiceSpec = {
    Name: input.name,
    TaskTemplate: { ContainerSpec: { Image: input.image! } },
    Mode: input.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: input.replicas ?? 1 } },
  };
  return applyShortFields(base, input);
}

/** Applies short-form fields over a spec (a copy: the current one is left as it was). */
export function applyShortFields(current: ServiceSpec, f: ShortFields & Pick<ServiceChanges, 'envAdd' | 'envRemove' | 'force'>): ServiceSpec {
  const spec = structuredClone(current);
  const task = spec.TaskTemplate;
  const c = (task.ContainerSpec ??= { Image: f.image ?? '' });
  if (f.image !== undefined) c.Image = f.image;
  if (f.command !== undefined) c.Command = f.command;
  if (f.args !== undefined) c.Args = f.args;
  if (f.env !== undefined) c.Env = f.env;
  if (f.envAdd?.length || f.envRemove?.length) {
    const env = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e] as const));
    for (const k of f.envRemove ?? []) env.delete(k);
    for (const e of f.envAdd ?? []) env.set(e.slice(0, e.indexOf('=')), e);
    c.Env = [...env.values()];
  }
  if (f.workdir !== undefined) c.Dir = f.workdir;
  if (f.user !== undefined) c.User = f.user;
  if (f.containerLabels !== undefined) c.Labels = f.containerLabels;
  if (f.mounts !== undefined) c.Mounts = f.mounts.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly }));
  if (f.stopGracePeriod !== undefined) c.StopGracePeriod = f.stopGracePeriod;
  if (f.labels !== undefined) spec.Labels = f.labels;
  if (f.replicas !== undefined) {
    if (spec.Mode?.Global) throw new BadRequest('body.replicas: a global service runs one task per node: it has no replica count', 'body.replicas');
    spec.Mode = { Replicated: { Replicas: f.replicas } };
  }
  if (f.constraints !== undefined) task.Placement = { ...task.Placement, Constraints: f.constraints };
  if (f.restartCondition !== undefined) task.RestartPolicy = { ...task.RestartPolicy, Condition: f.restartCondition };
  if (f.networks !== undefined) task.Networks = f.networks.map((target) => ({ Target: target }));
  if (f.endpointMode !== undefined || f.ports !== undefined) {
    const endpoint: Record<string, unknown> = { ...spec.EndpointSpec };
    if (f.endpointMode !== undefined) endpoint.Mode = f.endpointMode;
    if (f.ports !== undefined) endpoint.Ports = f.ports.map((p) => ({ TargetPort: p.target, PublishedPort: p.published, Protocol: p.protocol, PublishMode: p.mode }));
    spec.EndpointSpec = endpoint;
  }
  if (f.updateConfig !== undefined) spec.UpdateConfig = toEnginePolicy(f.updateConfig, spec.UpdateConfig);
  if (f.rollbackConfig !== undefined) spec.RollbackConfig = toEnginePolicy(f.rollbackConfig, spec.RollbackConfig);
  if (f.force) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;
  return spec;
}
