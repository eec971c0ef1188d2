// `flotilla updates …`: image updates (SPEC S15) — what is out of date, a check
// on demand, updating one container with its steps streamed, the history, the
// policies (default and per container) and the schedule settings.
import { z } from 'zod';
import { Argument, Option, type Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { ago, emit, renderFields, renderTable, shortId } from '../client/output.ts';
import { agentVersionSchema, updateCheckSchema, updateRunSchema } from '../../api/routes/updates.ts';
import { updateSettingsSchema, type UpdateSettings } from '../../updates/settings.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, keyValueRecord, type ClientFlags } from './common.ts';

type UpdateRun = z.infer<typeof updateRunSchema>;

const checkSummarySchema = z.object({
  at: z.string(), hosts: z.number(), containers: z.number(), remoteChecks: z.number(), registryRequests: z.number(),
  updatesAvailable: z.number(), errors: z.number(), durationMs: z.number(),
});
const policiesSchema = z.object({ defaultPolicy: z.string(), overrides: z.record(z.string(), z.string()) });
const hostNamesSchema = z.array(z.object({ id: z.string(), name: z.string() }).passthrough());
const applyLineSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('step'), step: z.string(), message: z.string(), progress: z.object({ current: z.number().optional(), total: z.number().optional() }).passthrough().optional() }).passthrough(),
  z.object({ type: z.literal('done'), run: updateRunSchema }),
  z.object({ type: z.literal('error'), message: z.string(), status: z.number().optional() }),
]);

const POLICIES = ['auto', 'manual', 'pinned'] as const;
/** Outcomes after which the container runs the image asked for. */
const SUCCESSFUL = new Set(['updated', 'unchanged']);

interface SettingsFlags extends ClientFlags {
  checkInterval?: string;
  window?: string;
  windowDuration?: string;
  hostWindow?: string[];
  stable?: string;
  agentSelfUpdate?: 'on' | 'off';
}

export function registerUpdateCommands(program: Command): void {
  const updates = commandGroup(program, 'updates', 'image updates: what is out of date, checks, updating containers, policies, schedule');

  clientCommand(updates, 'ls', 'the last check of every container: digests, status, policy')
    .option('--host <host>', 'only this host')
    .addOption(new Option('--status <status>', 'only this status').choices(updateCheckSchema.shape.status.options))
    .action(async (flags: ClientFlags & { host?: string; status?: string }) => {
      const rows = await (await connect(flags)).request('GET', '/updates', { query: { host: flags.host, status: flags.status }, schema: z.array(updateCheckSchema) });
      emit(flags.json, rows, () => (rows.length ? renderTable(['HOST', 'CONTAINER', 'IMAGE', 'STATUS', 'POLICY', 'CURRENT', 'AVAILABLE', 'CHECKED', 'NOTE'], rows.map((r) => [
        r.host, r.container, r.image, r.status, `${r.policy} (${r.policySource})`, shortDigest(r.currentDigest), shortDigest(r.availableDigest), ago(r.checkedAt),
        r.error ? `error: ${r.error}` : r.warning ? `warning: ${r.warning}` : '',
      ])) : 'no containers checked yet (run: flotilla updates check)'));
    });

  clientCommand(updates, 'check', 'check the fleet (or the hosts named) now; auto containers in their window are then updated')
    .option('--host <host...>', 'only these hosts (repeatable)')
    .option('--no-auto', 'only check: update no auto container')
    .action(async (flags: ClientFlags & { host?: string[]; auto: boolean }) => {
      const s = await (await connect(flags)).request('POST', '/updates/check', { body: { hosts: flags.host, autoUpdate: flags.auto }, schema: checkSummarySchema });
      emit(flags.json, s, () => `checked ${plural(s.containers, 'container')} on ${plural(s.hosts, 'host')}: ${plural(s.remoteChecks, 'remote check')}, `
        + `${plural(s.registryRequests, 'registry request')}, ${plural(s.updatesAvailable, 'update')} available, ${plural(s.errors, 'error')} in ${s.durationMs} ms`);
    });

  clientCommand(updates, 'apply', 'update one container to the newest image of its tag (health-gated, rolled back on failure)')
    .argument('<host>').argument('<container>')
    .option('--image <ref>', 'run this image reference instead of the container\'s own')
    .action(async (host: string, container: string, flags: ClientFlags & { image?: string }) => {
      const client = await connect(flags);
      const shownPulls = new Set<string>();
      let run: UpdateRun | undefined;
      for await (const line of client.stream<unknown>('POST', apiPath`/hosts/${host}/containers/${container}/update`, { query: { progress: true }, body: { image: flags.image } })) {
        const e = applyLineSchema.safeParse(line);
        if (!e.success) continue; // a line type this CLI does not know yet
        if (e.data.type === 'done') run = e.data.run;
        else if (e.data.type === 'error') throw new Error(e.data.message);
        else if (!flags.json) {
          // Pull progress repeats a layer's status with new byte counts: one line per status is enough.
          if (e.data.step === 'pull' && e.data.progress) {
            if (shownPulls.has(e.data.message)) continue;
            shownPulls.add(e.data.message);
          }
          process.stderr.write(`${e.data.step}: ${e.data.message}\n`);
        }
      }
      if (!run) throw new Error('the server ended the update without a result');
      emit(flags.json, run, () => describeRun(run!));
      if (!SUCCESSFUL.has(run.status)) process.exitCode = 1;
    });

  clientCommand(updates, 'agents', 'agent hosts: the agent\'s version against the server\'s and its self-update')
    .action(async (flags: ClientFlags) => {
      const rows = await (await connect(flags)).request('GET', '/updates/agents', { schema: z.array(agentVersionSchema) });
      emit(flags.json, rows, () => (rows.length ? renderTable(['HOST', 'AGENT', 'SERVER', 'STATE', 'CONTAINER', 'TARGET', 'LAST SELF-UPDATE'], rows.map((r) => [
        r.host.name, r.agentVersion ?? '-', r.serverVersion, r.state.replace(/_/g, ' '), r.container?.name ?? '-', r.target ?? '-',
        r.lastRun ? `${r.lastRun.status.replace('_', ' ')} ${ago(r.lastRun.startedAt)}${r.lastRun.reason && !SUCCESSFUL.has(r.lastRun.status) ? `: ${r.lastRun.reason}` : ''}` : '',
      ])) : 'no agent hosts'));
    });

  clientCommand(updates, 'history', 'update runs, newest first, with outcomes and rollback reasons')
    .option('--host <host>', 'only this host')
    .option('--container <name>', 'only this container')
    .action(async (flags: ClientFlags & { host?: string; container?: string }) => {
      const runs = await (await connect(flags)).request('GET', '/updates/runs', { query: { host: flags.host, container: flags.container }, schema: z.array(updateRunSchema) });
      emit(flags.json, runs, () => (runs.length ? renderTable(['ID', 'STARTED', 'HOST', 'CONTAINER', 'IMAGE', 'STATUS', 'TRIGGER', 'FROM', 'TO', 'DURATION', 'REASON'], runs.map((r) => [
        r.id.slice(0, 8), ago(r.startedAt), r.host, r.container, r.image, r.status, r.trigger, shortDigest(r.fromDigest), shortDigest(r.toDigest),
        r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)} s`, r.reason ?? '',
      ])) : 'no updates yet'));
    });

  clientCommand(updates, 'policy', 'set a container\'s policy (none removes the override), the default with --default; alone: show them')
    .argument('[container]', 'container name')
    .addArgument(new Argument('[policy]').choices([...POLICIES, 'none']))
    .option('--host <host>', 'the container of this host only')
    .addOption(new Option('--default <policy>', 'set the server default policy').choices(POLICIES))
    .action(async (container: string | undefined, policy: string | undefined, flags: ClientFlags & { host?: string; default?: string }, cmd: Command) => {
      const client = await connect(flags);
      if (flags.default !== undefined) {
        if (container !== undefined || flags.host !== undefined) cmd.error('error: --default takes no container and no --host');
        await client.request('PUT', '/updates/policies/default', { body: { policy: flags.default } });
        emit(flags.json, { defaultPolicy: flags.default }, () => `default policy: ${flags.default}`);
        return;
      }
      if (container === undefined) {
        const [p, names] = await Promise.all([client.request('GET', '/updates/policies', { schema: policiesSchema }), hostNames(client)]);
        emit(flags.json, p, () => `default policy: ${p.defaultPolicy}\n` + (Object.keys(p.overrides).length
          ? renderTable(['CONTAINER', 'HOST', 'POLICY'], Object.entries(p.overrides).map(([key, v]) => {
            const slash = key.indexOf('/');
            return slash === -1 ? [key, 'every host', v] : [key.slice(slash + 1), names.get(key.slice(0, slash)) ?? key.slice(0, slash), v];
          }))
          : 'no container overrides'));
        return;
      }
      if (policy === undefined) cmd.error('error: missing the policy: auto, manual, pinned or none');
      await client.request('PUT', apiPath`/updates/policies/containers/${container}`, { body: { policy: policy === 'none' ? null : policy, host: flags.host } });
      const where = flags.host ? ` on ${flags.host}` : '';
      emit(flags.json, { container, host: flags.host ?? null, policy: policy === 'none' ? null : policy },
        () => (policy === 'none' ? `removed the policy override of ${container}${where}` : `policy of ${container}${where}: ${policy}`));
    });

  clientCommand(updates, 'settings', 'show the update schedule and health gate; with options, change them')
    .option('--check-interval <duration>', 'time between fleet checks (6h, 30m; 0 turns the schedule off)')
    .option('--window <cron>', 'when auto updates may start: cron, UTC unless CRON_TZ=<zone> leads ("" = any time)')
    .option('--window-duration <duration>', 'how long a window stays open (1h)')
    .option('--host-window <host=cron>', 'a host\'s own window (repeatable; HOST= removes it)', collectKeyValue)
    .option('--stable <duration>', 'without a healthcheck, how long a new container must keep running (10s)')
    .addOption(new Option('--agent-self-update <on|off>', 'agents whose version differs from the server\'s update themselves to it').choices(['on', 'off']))
    .action(async (flags: SettingsFlags) => {
      const client = await connect(flags);
      const patch = {
        checkInterval: flags.checkInterval, window: flags.window, windowDuration: flags.windowDuration, stable: flags.stable,
        hostWindows: keyValueRecord(flags.hostWindow), agentSelfUpdate: flags.agentSelfUpdate === undefined ? undefined : flags.agentSelfUpdate === 'on',
      };
      const changing = Object.values(patch).some((v) => v !== undefined);
      const s = changing
        ? await client.request('PATCH', '/updates/settings', { body: patch, schema: updateSettingsSchema })
        : await client.request('GET', '/updates/settings', { schema: updateSettingsSchema });
      const names = Object.keys(s.hostWindows).length ? await hostNames(client) : new Map<string, string>();
      emit(flags.json, s, () => renderSettings(s, names));
    });
}

async function hostNames(client: Awaited<ReturnType<typeof connect>>): Promise<Map<string, string>> {
  const hosts = await client.request('GET', '/hosts', { schema: hostNamesSchema });
  return new Map(hosts.map((h) => [h.id, h.name]));
}

function renderSettings(s: UpdateSettings, names: Map<string, string>): string {
  const hostWindows = Object.entries(s.hostWindows).map(([id, expr]) => `${names.get(id) ?? id}: ${expr}`);
  return renderFields([
    ['Check interval', s.checkIntervalMs === 0 ? 'off (checks only when asked)' : formatDuration(s.checkIntervalMs)],
    ['Window', s.window ?? 'any time'],
    ['Window duration', formatDuration(s.windowDurationMs)],
    ['Host windows', hostWindows.join(', ') || 'none'],
    ['Stable', formatDuration(s.stableMs)],
    ['Agent self-update', s.agentSelfUpdate ? 'on (agents follow the server\'s version)' : 'off'],
  ]);
}

function describeRun(r: UpdateRun): string {
  const took = r.durationMs === null ? '' : ` in ${(r.durationMs / 1000).toFixed(1)} s`;
  // Only an update moved the container from one digest to another; otherwise the one it was tried with.
  const digests = r.status === 'updated' ? ` (${shortDigest(r.fromDigest) || '-'} → ${shortDigest(r.toDigest) || '-'})` : r.toDigest ? ` (${shortDigest(r.toDigest)})` : '';
  const head = `${r.container} on ${r.host}: ${r.status.replace('_', ' ')}${digests}${took}`;
  return r.reason && !SUCCESSFUL.has(r.status) ? `${head}\n  reason: ${r.reason}` : head;
}

/** 12 hex characters of a digest, as `docker images --digests` abbreviates ids. */
function shortDigest(digest: string | null): string {
  return digest ? shortId(digest) : '';
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** 21600000 → "6h", 5400000 → "1h30m", 1500 → "1s500ms". */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0';
}
