// `flotilla service …`: the services of a Swarm cluster — ls, create, inspect,
// update, scale, rollback, rm, ps, logs [-f]. Writes wait for the service to
// converge and show its progress on stderr (as `docker service create` does),
// unless --detach; an update that pauses, is rolled back or times out exits 1.
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { apiPath, type ApiClient } from '../client/api-client.ts';
import { emit, obj, renderFields, renderTable, shortId } from '../client/output.ts';
import { abortOnInterrupt } from '../client/progress.ts';
import { serviceSummarySchema, serviceViewSchema, taskViewSchema, type ServiceView } from '../../swarm/service-view.ts';
import { convergeDoneSchema, convergeProgressSchema, type ConvergeDone, type ConvergeProgress } from '../../swarm/service-convergence.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, intInRange, keyValueRecord, type ClientFlags } from './common.ts';

const writeResultSchema = z.object({ id: z.string(), name: z.string(), version: z.number(), warnings: z.array(z.string()), image: z.string().optional() });
const logLineSchema = z.object({ stream: z.enum(['stdout', 'stderr']), line: z.string(), timestamp: z.string().optional(), task: z.string().optional(), slot: z.number().optional(), node: z.string().optional() });
type LogLine = z.infer<typeof logLineSchema>;
type WriteResult = z.infer<typeof writeResultSchema>;

interface WaitFlags extends ClientFlags {
  detach?: boolean;
  timeout: number;
}

/** Flags that shape a spec, shared by create and update (camelCase as commander names them). */
interface SpecFlags extends WaitFlags {
  image?: string; replicas?: number; endpointMode?: string; publish?: Record<string, unknown>[]; constraint?: string[];
  restartCondition?: string; stopGracePeriod?: string; workdir?: string; user?: string;
  updateParallelism?: number; updateDelay?: string; updateFailureAction?: string; updateMonitor?: string; updateMaxFailureRatio?: number; updateOrder?: string;
  rollbackParallelism?: number; rollbackDelay?: string; rollbackFailureAction?: string; rollbackMonitor?: string; rollbackMaxFailureRatio?: number; rollbackOrder?: string;
}

interface CreateFlags extends SpecFlags {
  image: string; mode?: string; env?: string[]; label?: string[]; network?: string[]; mount?: Record<string, unknown>[];
}

interface UpdateFlags extends SpecFlags {
  envAdd?: string[]; envRm?: string[]; force?: boolean; atVersion?: number;
}

const collect = <T>(parse: (v: string) => T) => (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
const oneOf = (...values: string[]) => (v: string) => {
  if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
  return v;
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h))+$/;
function duration(v: string): string {
  if (!DURATION.test(v)) throw new InvalidArgumentError('a duration such as 10s, 1m30s or 500ms');
  return v;
}
function ratio(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('a number from 0 to 1');
  return n;
}

/** `8080:80[/udp]`, `80`, or the long form `published=8080,target=80,protocol=tcp,mode=host`. */
function publishSpec(v: string): Record<string, unknown> {
  const portNumber = (s: string | undefined, what: string) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`${what} must be a port (1–65535), got "${s ?? ''}"`);
    return n;
  };
  if (v.includes('=')) {
    const kv = Object.fromEntries(v.split(',').map((p) => p.split('=', 2) as [string, string]));
    return { target: portNumber(kv.target, 'target'), ...(kv.published ? { published: portNumber(kv.published, 'published') } : {}), protocol: kv.protocol ?? 'tcp', mode: kv.mode ?? 'ingress' };
  }
  const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(v);
  if (!m) throw new InvalidArgumentError('PUBLISHED:TARGET[/PROTOCOL], or published=…,target=…,mode=host');
  return { target: portNumber(m[2], 'target'), ...(m[1] ? { published: portNumber(m[1], 'published') } : {}), protocol: m[3] ?? 'tcp', mode: 'ingress' };
}

/** `type=bind,source=/a,target=/b,readonly` (src/dst also accepted). */
function mountSpec(v: string): Record<string, unknown> {
  const kv = new Map(v.split(',').map((p) => { const [k, val] = p.split('=', 2); return [k!.trim(), val ?? 'true'] as const; }));
  const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
  if (!target) throw new InvalidArgumentError('needs target=PATH (type=bind|volume|tmpfs,source=…,target=…[,readonly])');
  const ro = kv.get('readonly') ?? kv.get('ro');
  return { type: kv.get('type') ?? 'volume', source: kv.get('source') ?? kv.get('src'), target, ...(ro !== undefined ? { readOnly: ro !== 'false' } : {}) };
}

function specOptions(cmd: Command): Command {
  return cmd
    .option('--replicas <n>', 'number of tasks (0–10000)', intInRange(0, 10_000))
    .option('--endpoint-mode <mode>', 'vip or dnsrr (dnsrr where the kernel has no IPVS)', oneOf('vip', 'dnsrr'))
    .option('-p, --publish <spec>', 'publish a port: 8080:80[/udp], or published=8080,target=80,mode=host (repeatable)', collect(publishSpec))
    .option('--constraint <expr>', 'placement constraint, e.g. node.role==worker (repeatable; update replaces them all)', collect(String))
    .option('--restart-condition <c>', 'none, on-failure or any', oneOf('none', 'on-failure', 'any'))
    .option('--stop-grace-period <d>', 'time to wait before killing a task', duration)
    .option('-w, --workdir <dir>', 'working directory in the task')
    .option('-u, --user <user>', 'user in the task')
    .option('--update-parallelism <n>', 'tasks updated at once (0: all)', intInRange(0, 10_000))
    .option('--update-delay <d>', 'delay between update batches', duration)
    .option('--update-failure-action <a>', 'continue, pause or rollback', oneOf('continue', 'pause', 'rollback'))
    .option('--update-monitor <d>', 'how long each new task is watched', duration)
    .option('--update-max-failure-ratio <r>', 'failures tolerated (0–1)', ratio)
    .option('--update-order <o>', 'stop-first or start-first', oneOf('stop-first', 'start-first'))
    .option('--rollback-parallelism <n>', 'tasks rolled back at once (0: all)', intInRange(0, 10_000))
    .option('--rollback-delay <d>', 'delay between rollback batches', duration)
    .option('--rollback-failure-action <a>', 'continue or pause', oneOf('continue', 'pause'))
    .option('--rollback-monitor <d>', 'how long each rolled-back task is watched', duration)
    .option('--rollback-max-failure-ratio <r>', 'failures tolerated (0–1)', ratio)
    .option('--rollback-order <o>', 'stop-first or start-first', oneOf('stop-first', 'start-first'));
}

function waitOptions(cmd: Command): Command {
  return cmd.option('-d, --detach', 'do not wait for the service to converge')
    .option('--timeout <seconds>', 'how long to wait for convergence (1–600)', intInRange(1, 600), 120);
}

function policy(prefix: 'update' | 'rollback', f: SpecFlags): Record<string, unknown> | undefined {
  const g = (k: string) => (f as unknown as Record<string, unknown>)[prefix + k];
  const p = { parallelism: g('Parallelism'), delay: g('Delay'), failureAction: g('FailureAction'), monitor: g('Monitor'), maxFailureRatio: g('MaxFailureRatio'), order: g('Order') };
  return Object.values(p).some((v) => v !== undefined) ? p : undefined;
}

/** The body fields both create and update send; undefined ones are left out by JSON. */
function specBody(f: SpecFlags): Record<string, unknown> {
  return {
    image: f.image, replicas: f.replicas, endpointMode: f.endpointMode, ports: f.publish, constraints: f.constraint,
    restartCondition: f.restartCondition, stopGracePeriod: f.stopGracePeriod, workdir: f.workdir, user: f.user,
    updateConfig: policy('update', f), rollbackConfig: policy('rollback', f),
  };
}

export function registerServiceCommands(program: Command): void {
  const service = commandGroup(program, 'service', 'services of a Swarm cluster');
  const path = (cluster: string, ref?: string, sub = '') => (ref === undefined ? apiPath`/swarm/clusters/${cluster}/services` : apiPath`/swarm/clusters/${cluster}/services/${ref}` + sub);

  clientCommand(service, 'ls', 'list services with their running/desired tasks').argument('<cluster>')
    .action(async (cluster: string, flags: ClientFlags) => {
      const rows = await (await connect(flags)).request('GET', path(cluster), { schema: z.array(serviceSummarySchema) });
      emit(flags.json, rows, () => renderTable(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS', 'UPDATE'],
        rows.map((s) => [shortId(s.id), s.name, s.mode, `${s.running}/${s.desired}`, s.image, s.ports.join(', '), s.updateState])));
    });

  waitOptions(specOptions(clientCommand(service, 'create', 'create a service: create CLUSTER NAME --image IMAGE [options] [-- ARGS…]')))
    .argument('<cluster>').argument('<name>').argument('[args...]', 'arguments for the image\'s command (after --)')
    .requiredOption('--image <image>', 'image reference')
    .option('--mode <mode>', 'replicated (default) or global', oneOf('replicated', 'global'))
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('-l, --label <KEY=VALUE>', 'service label (repeatable)', collectKeyValue)
    .option('--network <name>', 'attach to a network (repeatable)', collect(String))
    .option('--mount <spec>', 'type=bind|volume|tmpfs,source=…,target=…[,readonly] (repeatable)', collect(mountSpec))
    .action(async (cluster: string, name: string, args: string[], flags: CreateFlags, cmd: Command) => {
      if (flags.mode === 'global' && flags.replicas !== undefined) cmd.error('error: --replicas cannot be used with --mode global (one task per node)', { exitCode: 2, code: 'flotilla.usage' });
      const body = {
        name, ...specBody(flags), mode: flags.mode, env: flags.env, labels: keyValueRecord(flags.label), networks: flags.network, mounts: flags.mount,
        ...(args.length ? { args } : {}),
      };
      const client = await connect(flags);
      const created = await client.request('POST', path(cluster), { body, schema: writeResultSchema });
      await finish(client, cluster, created, flags, 'update', `created service ${created.name} (${created.id})`);
    });

  clientCommand(service, 'inspect', 'one service: image, tasks, update and rollback configuration, version').argument('<cluster>').argument('<service>')
    .action(async (cluster: string, ref: string, flags: ClientFlags) => {
      const s = await (await connect(flags)).request('GET', path(cluster, ref), { schema: serviceViewSchema });
      emit(flags.json, s, () => renderService(s));
    });

  waitOptions(specOptions(clientCommand(service, 'update', 'change a service (at the version read now, or --at-version)')))
    .argument('<cluster>').argument('<service>')
    .option('--image <image>', 'new image reference')
    .option('--env-add <KEY=VALUE>', 'set an environment variable (repeatable)', collectKeyValue)
    .option('--env-rm <KEY>', 'remove an environment variable (repeatable)', collect(String))
    .option('--force', 'replace every task even if nothing changed')
    .option('--at-version <n>', 'the Version.Index your change is based on (409 if the service changed since)', intInRange(0, Number.MAX_SAFE_INTEGER))
    .action(async (cluster: string, ref: string, flags: UpdateFlags, cmd: Command) => {
      const changes = Object.fromEntries(Object.entries({ ...specBody(flags), envAdd: flags.envAdd, envRemove: flags.envRm, force: flags.force || undefined }).filter(([, v]) => v !== undefined));
      if (Object.keys(changes).length === 0) cmd.error('error: nothing to change: give --image, --replicas, --env-add, --force …', { exitCode: 2, code: 'flotilla.usage' });
      const client = await connect(flags);
      const version = flags.atVersion ?? (await client.request('GET', path(cluster, ref), { schema: serviceViewSchema })).version;
      const result = await client.request('POST', path(cluster, ref, '/update'), { body: { version, ...changes }, schema: writeResultSchema });
      await finish(client, cluster, result, flags, 'update', `updated service ${result.name} (version ${version} → ${result.version})`);
    });

  waitOptions(clientCommand(service, 'scale', 'set the replica count of a replicated service').argument('<cluster>').argument('<service>')
    .argument('<replicas>', 'number of tasks (0–10000)', intInRange(0, 10_000)))
    .action(async (cluster: string, ref: string, replicas: number, flags: WaitFlags) => {
      const client = await connect(flags);
      const result = await client.request('POST', path(cluster, ref, '/scale'), { body: { replicas }, schema: writeResultSchema });
      await finish(client, cluster, result, flags, 'update', `${result.name} scaled to ${replicas}`);
    });

  waitOptions(clientCommand(service, 'rollback', 'go back to the previous spec (as docker service rollback)').argument('<cluster>').argument('<service>'))
    .action(async (cluster: string, ref: string, flags: WaitFlags) => {
      const client = await connect(flags);
      const result = await client.request('POST', path(cluster, ref, '/rollback'), { schema: writeResultSchema });
      await finish(client, cluster, result, flags, 'any', `rolling ${result.name} back to ${result.image}`);
    });

  clientCommand(service, 'rm', 'remove services').argument('<cluster>').argument('<service...>')
    .action(async (cluster: string, refs: string[], flags: ClientFlags) => {
      const client = await connect(flags);
      for (const ref of refs) await client.request('DELETE', path(cluster, ref));
      emit(flags.json, { cluster, removed: refs }, () => refs.map((r) => `removed ${r}`).join('\n'));
    });

  clientCommand(service, 'ps', 'the service\'s tasks with node, host and state').argument('<cluster>').argument('<service>')
    .option('--current', 'only tasks that are meant to run (no history)')
    .action(async (cluster: string, ref: string, flags: ClientFlags & { current?: boolean }) => {
      const tasks = await (await connect(flags)).request('GET', path(cluster, ref, '/tasks'), { query: { all: !flags.current }, schema: z.array(taskViewSchema) });
      emit(flags.json, tasks, () => renderTable(['ID', 'SLOT', 'IMAGE', 'NODE', 'HOST', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
        tasks.map((t) => [shortId(t.id), t.slot, t.image, t.node ?? t.nodeId, t.host, t.desiredState, t.state, t.error])));
    });

  clientCommand(service, 'logs', 'print the logs of every task, each line prefixed with service.slot.task@node').argument('<cluster>').argument('<service>')
    .option('-n, --tail <lines>', 'last N lines (0–500)', intInRange(0, 500), 100)
    .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)')
    .option('-t, --timestamps', 'show each line\'s timestamp')
    .action(async (cluster: string, ref: string, flags: ClientFlags & { tail: number; follow?: boolean; timestamps?: boolean }) => {
      const client = await connect(flags);
      const query = { tail: flags.tail, timestamps: Boolean(flags.timestamps) };
      const write = (l: LogLine) => {
        if (flags.json) return void process.stdout.write(JSON.stringify(l) + '\n');
        const prefix = `${ref}.${l.slot ?? '?'}.${(l.task ?? '').slice(0, 12)}@${l.node ?? '?'}`;
        (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.timestamp ? `${l.timestamp} ` : ''}${prefix}    | ${l.line}\n`);
      };
      if (!flags.follow) {
        const answer = await client.request('GET', path(cluster, ref, '/logs'), { query, schema: z.object({ lines: z.array(logLineSchema) }) });
        answer.lines.forEach(write);
        return;
      }
      const stop = abortOnInterrupt();
      try {
        for await (const item of client.stream<unknown>('GET', path(cluster, ref, '/logs'), { query: { ...query, follow: true }, signal: stop.signal })) {
          const error = obj(item).error;
          if (typeof error === 'string') throw new Error(`logs of ${ref}: ${error}`);
          write(logLineSchema.parse(item));
        }
      } catch (err) {
        if (!stop.interrupted()) throw err;
        process.exitCode = 130;
      } finally {
        stop.dispose();
      }
    });
}

/**
 * After a write: unless --detach, follow the convergence stream with progress on
 * stderr; print the result (with the convergence outcome under --json). Any
 * outcome but converged is an error (exit 1) naming it.
 */
async function finish(client: ApiClient, cluster: string, result: WriteResult, flags: WaitFlags, expect: 'update' | 'any', said: string): Promise<void> {
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!flags.json) process.stdout.write(`${said}\n`);
  if (flags.detach) {
    if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const done = await followConvergence(client, cluster, result.id, flags.timeout, expect);
  if (flags.json) process.stdout.write(JSON.stringify({ ...result, convergence: done }, null, 2) + '\n');
  if (!done) return; // interrupted: exit code 130 is set
  if (done.outcome !== 'converged') throw new Error(`service ${done.service}: ${done.outcome.replace('_', ' ')}: ${done.message}`);
  process.stderr.write(`${done.service}: converged, ${done.running}/${done.desired} tasks running (${(done.elapsedMs / 1000).toFixed(1)}s)\n`);
}

async function followConvergence(client: ApiClient, cluster: string, id: string, timeoutS: number, expect: 'update' | 'any'): Promise<ConvergeDone | undefined> {
  const stop = abortOnInterrupt();
  const tty = process.stderr.isTTY === true;
  let shown = '';
  try {
    const events = client.stream<unknown>('GET', apiPath`/swarm/clusters/${cluster}/services/${id}/converge`, { query: { timeout: timeoutS, expect }, signal: stop.signal });
    for await (const item of events) {
      const error = obj(item).error;
      if (typeof error === 'string') throw new Error(`waiting for ${id}: ${error}`);
      const done = convergeDoneSchema.safeParse(item);
      if (done.success) {
        if (tty && shown) process.stderr.write('\r\x1b[2K');
        return done.data;
      }
      const line = progressLine(convergeProgressSchema.parse(item));
      if (line === shown) continue;
      shown = line;
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    }
    throw new Error(`the convergence stream of ${id} ended without a result`);
  } catch (err) {
    if (!stop.interrupted()) throw err;
    process.stderr.write(`\nstopped waiting; the service keeps converging (flotilla service ps ${cluster} ${id})\n`);
    process.exitCode = 130;
    return undefined;
  } finally {
    stop.dispose();
  }
}

function progressLine(p: ConvergeProgress): string {
  const states = new Map<string, number>();
  for (const t of p.tasks) states.set(t.state, (states.get(t.state) ?? 0) + 1);
  const detail = [...states].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${n} ${s}`).join(', ');
  return `${p.service}: ${p.running}/${p.desired} tasks running${detail ? ` [${detail}]` : ''}${p.updateState ? `, update ${p.updateState}` : ''}${p.lastError ? ` — ${p.lastError}` : ''}`;
}

function renderService(s: ServiceView): string {
  const policyText = (p: ServiceView['updateConfig']) => (p ? `parallelism ${p.parallelism}, delay ${p.delay}, on failure ${p.failureAction}, monitor ${p.monitor}, max failure ratio ${p.maxFailureRatio}, ${p.order}` : null);
  return renderFields([
    ['ID', s.id], ['Name', s.name], ['Mode', s.mode], ['Replicas', s.replicas], ['Tasks', `${s.running}/${s.desired} running`],
    ['Image', s.image], ['Previous image', s.previousImage], ['Endpoint mode', s.endpointMode], ['Ports', s.ports.join(', ')],
    ['Constraints', s.constraints.join(', ')], ['Update status', s.updateState ? `${s.updateState}${s.updateMessage ? ` (${s.updateMessage})` : ''}` : null],
    ['Update config', policyText(s.updateConfig)], ['Rollback config', policyText(s.rollbackConfig)],
    ['Stack', s.stack], ['Version', s.version], ['Created', s.createdAt], ['Updated', s.updatedAt],
  ]);
}
