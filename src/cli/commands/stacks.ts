// `flotilla stack …` and `flotilla deployment …`: deploy a Compose file natively
// (the files it names are read next to it and sent along), follow the deploy's
// progress, list stacks, their services and tasks, remove one; the deployments
// recorded, their diff, and deploying one again (rollback).
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import YAML from 'yaml';
import { apiPath } from '../client/api-client.ts';
import { emit, renderTable, shortId, str } from '../client/output.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

interface DeployFlags extends ClientFlags {
  composeFile: string;
  strategy: 'rolling' | 'blue-green' | 'canary';
  only?: string[];
  steps?: number[];
  stepSeconds?: number;
  probe?: { port: number; path: string };
  envFile?: string[];
  prune?: boolean;
  resolveImage: 'always' | 'changed' | 'never';
  timeout: number;
}

type Deployment = { id: string; stack: string; status: string; startedAt: string; durationMs: number | null; startedBy: string | null; error: string | null; redeployOf: string | null; outcome: { name: string; action: string; outcome: string; message: string }[]; warnings: string[] };

export function registerStackCommands(program: Command): void {
  const stack = commandGroup(program, 'stack', 'stacks deployed natively from Compose files');

  clientCommand(stack, 'deploy', 'deploy (or update) a stack from a Compose file').argument('<cluster>').argument('<stack>')
    .requiredOption('-c, --compose-file <file>', 'the Compose file')
    .option('--env-file <file...>', 'values for ${VAR} (KEY=VALUE lines); variables the file uses are also taken from your shell')
    .option('--prune', 'remove services no longer in the file')
    .addOption(new Option('--resolve-image <when>', 'pin images by registry digest').choices(['always', 'changed', 'never']).default('always'))
    .option('--timeout <seconds>', 'how long each service may take to converge (5–3600)', intInRange(5, 3600), 300)
    .addOption(new Option('--strategy <name>', 'how changed services are updated').choices(['rolling', 'blue-green', 'canary']).default('rolling'))
    .option('--only <service...>', 'the Compose services the strategy applies to (default: every one that changes)')
    .option('--steps <percents>', 'canary: percent of replicas at each step, ending at 100 (e.g. 10,50,100)', parseSteps)
    .option('--step-seconds <s>', 'canary: how long each step is watched (1–3600)', intInRange(1, 3600))
    .option('--probe <port:path>', 'an HTTP probe run from inside the stack network (e.g. 8080:/healthz)', parseProbe)
    .action(async (cluster: string, name: string, flags: DeployFlags) => {
      const strategyOptions = flags.strategy === 'rolling' ? undefined
        : { services: flags.only, steps: flags.steps, stepSeconds: flags.stepSeconds, probe: flags.probe };
      const body = {
        name, ...readComposeBundle(flags.composeFile, flags.envFile ?? []), prune: Boolean(flags.prune), resolveImage: flags.resolveImage,
        convergeTimeoutSeconds: flags.timeout, strategy: flags.strategy, strategyOptions,
      };
      const client = await connect(flags);
      let final: Deployment | undefined;
      for await (const e of client.stream<Record<string, any>>('POST', apiPath`/swarm/clusters/${cluster}/stacks`, { query: { progress: true }, body })) {
        if (e.type === 'done') final = e.deployment as Deployment;
        else if (e.type === 'error') throw new Error(e.message);
        else if (!flags.json) process.stderr.write(describeEvent(e) + '\n');
      }
      if (!final) throw new Error('the server ended the deploy without a result');
      emit(flags.json, final, () => summarize(final!));
      if (final.status !== 'succeeded') process.exitCode = 1;
    });

  clientCommand(stack, 'ls', 'list stacks').argument('<cluster>').action(async (cluster: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<{ name: string; services: string[]; tasks: { running: number; desired: number } }[]>('GET', apiPath`/swarm/clusters/${cluster}/stacks`);
    emit(flags.json, rows, () => renderTable(['NAME', 'SERVICES', 'TASKS'], rows.map((s) => [s.name, String(s.services.length), `${s.tasks.running}/${s.tasks.desired}`])));
  });

  clientCommand(stack, 'services', 'a stack\'s services: desired, running, failed, converged').argument('<cluster>').argument('<stack>').action(async (cluster: string, name: string, flags: ClientFlags) => {
    const st = await (await connect(flags)).request<{ services: { name: string; image: string; mode: string; desired: number; running: number; failed: number; converged: boolean }[] }>('GET', apiPath`/swarm/clusters/${cluster}/stacks/${name}`);
    emit(flags.json, st, () => renderTable(['NAME', 'MODE', 'REPLICAS', 'FAILED', 'IMAGE', 'STATE'], st.services.map((s) => [s.name, s.mode, `${s.running}/${s.desired}`, String(s.failed), s.image, s.converged ? 'converged' : 'converging'])));
  });

  clientCommand(stack, 'ps', 'a stack\'s tasks').argument('<cluster>').argument('<stack>').action(async (cluster: string, name: string, flags: ClientFlags) => {
    const tasks = await (await connect(flags)).request<Record<string, any>[]>('GET', apiPath`/swarm/clusters/${cluster}/stacks/${name}/tasks`);
    emit(flags.json, tasks, () => renderTable(['ID', 'SERVICE', 'SLOT', 'NODE', 'DESIRED', 'STATE', 'ERROR'], tasks.map((t) => [shortId(t.ID), shortId(t.ServiceID), str(t.Slot), shortId(t.NodeID), t.DesiredState, t.Status?.State, t.Status?.Err ?? ''])));
  });

  clientCommand(stack, 'rm', 'remove a stack (services, networks, secrets, configs)').argument('<cluster>').argument('<stack>').action(async (cluster: string, name: string, flags: ClientFlags) => {
    const r = await (await connect(flags)).request<{ services: string[]; networks: string[]; secrets: string[]; configs: string[] }>('DELETE', apiPath`/swarm/clusters/${cluster}/stacks/${name}`);
    emit(flags.json, r, () => [...r.services.map((s) => `Removing service ${s}`), ...r.secrets.map((s) => `Removing secret ${s}`), ...r.configs.map((s) => `Removing config ${s}`), ...r.networks.map((s) => `Removing network ${s}`)].join('\n'));
  });

  registerDeploymentCommands(program);
}

function registerDeploymentCommands(program: Command): void {
  const dep = commandGroup(program, 'deployment', 'recorded stack deploys: list, show, diff, deploy again (rollback)');
  clientCommand(dep, 'ls', 'deployments, newest first').argument('<cluster>').option('--stack <stack>', 'only this stack').action(async (cluster: string, flags: ClientFlags & { stack?: string }) => {
    const rows = await (await connect(flags)).request<Deployment[]>('GET', apiPath`/swarm/clusters/${cluster}/deployments`, { query: { stack: flags.stack } });
    emit(flags.json, rows, () => renderTable(['ID', 'STACK', 'STATUS', 'STARTED', 'BY', 'DURATION', 'ERROR'], rows.map((d) => [d.id.slice(0, 8), d.stack, d.status, d.startedAt, d.startedBy ?? '-', d.durationMs === null ? '-' : `${(d.durationMs / 1000).toFixed(1)} s`, d.error ?? ''])));
  });
  clientCommand(dep, 'show', 'one deployment, with its Compose file').argument('<cluster>').argument('<id>').action(async (cluster: string, id: string, flags: ClientFlags) => {
    const d = await (await connect(flags)).request<Deployment & { compose: string }>('GET', apiPath`/swarm/clusters/${cluster}/deployments/${id}`);
    emit(flags.json, d, () => `${summarize(d)}\n\n${d.compose}`);
  });
  clientCommand(dep, 'diff', 'services and fields changed from one deployment to another').argument('<cluster>').argument('<from>').argument('<to>').action(async (cluster: string, from: string, to: string, flags: ClientFlags) => {
    const d = await (await connect(flags)).request<{ services: { name: string; change: string; fields: string[] }[] }>('GET', apiPath`/swarm/clusters/${cluster}/deployments/${to}/diff`, { query: { against: from } });
    emit(flags.json, d, () => (d.services.length ? d.services.map((s) => `${s.change.padEnd(8)} ${s.name}${s.fields.length ? `\n           ${s.fields.join('\n           ')}` : ''}`).join('\n') : 'no differences'));
  });
  clientCommand(dep, 'redeploy', 'deploy a recorded deployment again (rollback)').argument('<cluster>').argument('<id>').action(async (cluster: string, id: string, flags: ClientFlags) => {
    const client = await connect(flags);
    let final: Deployment | undefined;
    for await (const e of client.stream<Record<string, any>>('POST', apiPath`/swarm/clusters/${cluster}/deployments/${id}/redeploy`, { query: { progress: true } })) {
      if (e.type === 'done') final = e.deployment as Deployment;
      else if (e.type === 'error') throw new Error(e.message);
      else if (!flags.json) process.stderr.write(describeEvent(e) + '\n');
    }
    if (!final) throw new Error('the server ended the deploy without a result');
    emit(flags.json, final, () => summarize(final!));
    if (final.status !== 'succeeded') process.exitCode = 1;
  });
}

function parseSteps(value: string): number[] {
  const steps = value.split(',').map((v) => Number(v.trim()));
  if (!steps.length || steps.some((n) => !Number.isInteger(n) || n < 1 || n > 100) || steps.at(-1) !== 100) {
    throw new InvalidArgumentError('comma-separated whole percentages ending at 100, e.g. 10,50,100');
  }
  return steps;
}

function parseProbe(value: string): { port: number; path: string } {
  const m = /^(\d{1,5}):(\/.*)$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new InvalidArgumentError('PORT:/path, e.g. 8080:/healthz');
  return { port: Number(m[1]), path: m[2]! };
}

function describeEvent(e: Record<string, any>): string {
  if (e.type === 'warning') return `warning: ${e.message}`;
  if (e.type === 'strategy') return `${e.service}: ${e.strategy} — ${e.step}${e.detail ? ` (${e.detail})` : ''}`;
  if (e.type === 'deployment') return `deployment ${e.id}: ${e.status}`;
  if (e.type === 'converge') return `${e.service}: ${e.outcome} — ${e.message}`;
  const verb: Record<string, string> = { created: 'Created', updated: 'Updated', unchanged: 'Unchanged', removed: 'Removed', exists: 'Kept', external: 'Using external' };
  return `${verb[e.action] ?? e.action} ${e.kind} ${e.name}${e.warnings?.length ? ` (${e.warnings.join('; ')})` : ''}`;
}

function summarize(d: Deployment): string {
  const lines = [`deployment ${d.id} of ${d.stack}: ${d.status}${d.durationMs !== null ? ` in ${(d.durationMs / 1000).toFixed(1)} s` : ''}${d.redeployOf ? ` (again: ${d.redeployOf})` : ''}`];
  for (const o of d.outcome) lines.push(`  ${o.name}: ${o.action}, ${o.outcome}${o.outcome !== 'converged' && o.outcome !== 'not_waited' ? ` — ${o.message}` : ''}`);
  if (d.error) lines.push(`  error: ${d.error}`);
  return lines.join('\n');
}

/** The Compose file, the values it interpolates, and the files it names (read relative to it). */
export function readComposeBundle(file: string, envFiles: string[]): { compose: string; env: Record<string, string>; files: Record<string, string> } {
  const compose = readText(file, '--compose-file');
  const env: Record<string, string> = {};
  for (const f of envFiles) Object.assign(env, parseEnvLines(readText(f, '--env-file')));
  // Only the variables the file uses come from the shell: never the whole environment.
  for (const m of compose.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const v = process.env[m[1]!];
    if (v !== undefined) env[m[1]!] = v;
  }
  const dir = path.dirname(path.resolve(file));
  const files: Record<string, string> = {};
  for (const p of namedFiles(compose)) {
    const full = path.resolve(dir, p);
    if (fs.existsSync(full)) files[p] = fs.readFileSync(full, 'utf8');
  }
  return { compose, env, files };
}

function namedFiles(compose: string): string[] {
  let doc: any;
  try {
    doc = YAML.parse(compose);
  } catch {
    return []; // the server says what is wrong with it
  }
  const out: string[] = [];
  for (const s of Object.values<any>(doc?.services ?? {})) {
    const ef = s?.env_file;
    for (const e of Array.isArray(ef) ? ef : ef ? [ef] : []) out.push(typeof e === 'string' ? e : e?.path);
  }
  for (const k of ['secrets', 'configs']) for (const o of Object.values<any>(doc?.[k] ?? {})) if (typeof o?.file === 'string') out.push(o.file);
  return out.filter((p): p is string => typeof p === 'string');
}

function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function readText(file: string, option: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
