// Image updates for the fleet (SPEC S15, S6): the facade REST, CLI and the
// scheduler use. Checks the fleet on a schedule (one remote check per image
// reference), updates `auto` containers inside their window, applies manual
// updates on request, notifies, and puts back containers whose update was cut
// short (direct hosts: the server's journal; agent hosts: the agent's own).
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { UpdateCheckRow, UpdateRunRow } from '../store/updates-repo.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { JournalEntry } from '../proto/generated/flotilla.ts';
import { PolicyStore } from '../cluster/policy-store.ts';
import { NotFound } from '../errors.ts';
import { inspectContainer } from '../docker/containers.ts';
import { RegistryClient } from './registry/client.ts';
import { Notifier } from './notify/index.ts';
import { FileUpdateJournal, recoverInterruptedUpdates, type UpdateStepEvent } from './recreate/index.ts';
import { AgentRuns, updateReports, type AgentCommands } from './agent-runs.ts';
import { UpdateApplier, type UpdateTrigger } from './apply.ts';
import { hostsToCheck, runCheckCycle, type CheckSummary } from './check-cycle.ts';
import { UpdateSettingsStore } from './settings.ts';
import { mayUpdateNow } from './policy.ts';
import { withCurrentPolicy } from './detect.ts';
import { effectiveWindow } from './window.ts';
import { AgentVersionFollower, type AgentVersionStatus } from './self-update/index.ts';
import { VERSION } from '../version.ts';

export interface UpdatesEvents {
  check: [CheckSummary];
  step: [{ id: string; host: string; container: string; event: UpdateStepEvent }];
  run: [UpdateRunRow];
}

export interface UpdatesDeps {
  store: Store;
  fleet: Fleet;
  log: Logger;
  dataDir: string;
  /** The agent endpoint's sessions, once it runs. */
  agents: () => AgentCommands | undefined;
  /** Sends a changed policy to every connected agent (SPEC A6). */
  pushPolicy?: (msg: Awaited<ReturnType<PolicyStore['setPolicy']>>) => void;
  gracePeriodOfflineMs: number;
  /** What agents follow (SPEC S15); default this process's version. */
  serverVersion?: string;
  /** Whether this server runs the scheduled fleet check (one replica does; default yes). */
  owns?: () => boolean;
  /** Another replica is alive: an update marked running may be its, going on now. */
  othersAlive?: () => boolean;
}

export class Updates {
  readonly bus = new EventEmitter<UpdatesEvents>();
  readonly registry: RegistryClient;
  readonly notifier: Notifier;
  readonly settings: UpdateSettingsStore;
  readonly policies: PolicyStore;
  private readonly d: UpdatesDeps;
  private readonly journal: FileUpdateJournal;
  private readonly agentRuns: AgentRuns;
  private readonly applier: UpdateApplier;
  private readonly follower: AgentVersionFollower;
  private timer: NodeJS.Timeout | undefined;
  private cycle: Promise<CheckSummary> | undefined;
  /**
   * Whether the server's journal may hold records to undo: true at start and after an update that ended
   * `failed` (its rollback could not finish, so the record stays). Keeps the directory from being read
   * on every host sync when there is nothing to recover.
   */
  private journalMayHoldRecords = true;
  private readonly stopping = new AbortController();

  constructor(deps: UpdatesDeps) {
    this.d = deps;
    const log = deps.log.child({ component: 'updates' });
    this.registry = new RegistryClient({ access: (host) => deps.store.registries.access(host), log });
    this.notifier = new Notifier({ targets: deps.store.notifications, log: log.child({ component: 'notify' }) });
    this.settings = new UpdateSettingsStore(deps.store.db);
    this.policies = new PolicyStore(deps.store.db, deps.gracePeriodOfflineMs);
    this.journal = new FileUpdateJournal(path.join(deps.dataDir, 'update-journal'));
    this.agentRuns = new AgentRuns(deps.agents);
    this.applier = new UpdateApplier({
      store: deps.store, log, journal: this.journal, agentRuns: this.agentRuns,
      docker: async (host) => (await deps.fleet.docker(host.id)).docker,
      settings: () => this.settings.get(),
      policies: async () => {
        const p = await this.policies.policy();
        return { overrides: p.containerPolicies, defaultPolicy: p.defaultPolicy };
      },
      onStep: (run, event) => this.bus.emit('step', { ...run, event }),
      onFinished: (run, notice) => {
        if (run.status === 'failed') this.journalMayHoldRecords = true;
        this.bus.emit('run', run);
        if (notice) this.notifier.notifySoon([notice]);
      },
    });
    this.follower = new AgentVersionFollower({
      store: deps.store, log, serverVersion: deps.serverVersion ?? VERSION,
      docker: async (host) => (await deps.fleet.docker(host.id)).docker,
      apply: (host, container, image) => this.applier.apply({ host, container, image, trigger: 'self', user: null }),
      complete: (id, result) => this.applier.complete(id, result),
      enabled: async () => (await this.settings.get()).agentSelfUpdate,
    });
  }

  /** Starts the schedule, and puts back containers of direct hosts whose update the server did not finish. */
  async start(): Promise<void> {
    const direct = (await this.d.store.hosts.list()).filter((h) => h.kind !== 'agent').map((h) => h.id);
    // With other replicas alive a running update may be one of theirs: left as it is (its replica finishes it).
    const n = this.d.othersAlive?.() ? 0 : await this.d.store.updates.markInterrupted(direct);
    if (n) this.d.log.warn({ updates: n }, 'container updates were running when the server stopped: their containers are put back when their hosts answer');
    this.d.fleet.bus.on('synced', ({ hostId, ok }) => {
      if (!ok || this.stopping.signal.aborted) return;
      void this.recover(hostId);
      void this.d.store.hosts.find(hostId).then((host) => host && this.follower.consider(host)).catch(() => undefined);
    });
    void this.schedule(60_000);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.cycle?.catch(() => undefined);
    await this.notifier.close();
    await this.registry.close();
  }

  /** One check of the whole fleet (or the hosts named); concurrent callers share the cycle in flight. */
  check(opts: { hosts?: string[]; autoUpdate?: boolean } = {}): Promise<CheckSummary> {
    if (this.cycle && !opts.hosts) return this.cycle;
    const run = this.runCycle(opts).finally(() => {
      if (this.cycle === run) this.cycle = undefined;
    });
    if (!opts.hosts) this.cycle = run;
    return run;
  }

  private async runCycle(opts: { hosts?: string[]; autoUpdate?: boolean }): Promise<CheckSummary> {
    const hosts = hostsToCheck(await this.d.store.hosts.list(), opts.hosts ? new Set(opts.hosts) : undefined);
    const p = await this.policies.policy();
    const configImage = async (hostId: string, containerId: string) => (await inspectContainer((await this.d.fleet.docker(hostId)).docker, containerId, { timeoutMs: 10_000 })).Config.Image;
    const result = await runCheckCycle({ store: this.d.store, registry: this.registry, configImage }, hosts, { overrides: p.containerPolicies, defaultPolicy: p.defaultPolicy }, this.stopping.signal);
    this.d.log.info(result.summary, 'update check done');
    if (result.notices.length) this.notifier.notifySoon(result.notices);
    this.bus.emit('check', result.summary);
    if (opts.autoUpdate !== false) await this.autoUpdate(result.rows, hosts);
    return result.summary;
  }

  /** `auto` containers with an update, inside their window, one at a time (a failed one does not stop the rest). */
  private async autoUpdate(rows: UpdateCheckRow[], hosts: HostRow[]): Promise<void> {
    const s = await this.settings.get();
    const byId = new Map(hosts.map((h) => [h.id, h]));
    for (const r of rows) {
      if (this.stopping.signal.aborted) return;
      const host = byId.get(r.host_id);
      if (!host || r.status !== 'update_available' || r.policy !== 'auto') continue;
      const decision = mayUpdateNow({
        policy: 'auto', trigger: 'auto', hostPaused: host.agent_state === 'paused' || host.status === 'maintenance', agentAutonomous: false,
        window: effectiveWindow(s.hostWindows[host.id], s.window), windowDurationMs: s.windowDurationMs,
      });
      if (!decision.allowed) continue;
      await this.applier.apply({ host, container: r.container_id, trigger: 'auto', user: null })
        .catch((err: Error) => this.d.log.warn({ host: host.name, container: r.container_name, err: err.message }, 'automatic update not applied'));
    }
  }

  async apply(hostRef: string, container: string, who: { user: string | null; trigger?: UpdateTrigger; image?: string; onStep?: (e: UpdateStepEvent) => void }): Promise<UpdateRunRow> {
    const host = await this.d.fleet.getHostRow(hostRef);
    return this.applier.apply({ host, container, trigger: who.trigger ?? 'manual', user: who.user, image: who.image, onStep: who.onStep });
  }

  /** Agent hosts: their agent's version against the server's, and the self-update done about it. */
  agentVersions(): Promise<AgentVersionStatus[]> {
    return this.follower.status();
  }

  async checks(filter: { host?: string; status?: string } = {}): Promise<UpdateCheckRow[]> {
    const hostId = filter.host ? (await this.d.fleet.getHostRow(filter.host)).id : undefined;
    const p = await this.policies.policy();
    const policy = { overrides: p.containerPolicies, defaultPolicy: p.defaultPolicy };
    // The status filter applies to the status as the policy now in force makes it (pinned ⇄ update_available).
    const rows = (await this.d.store.updates.checks({ hostId })).map((r) => withCurrentPolicy(r, policy));
    return filter.status ? rows.filter((r) => r.status === filter.status) : rows;
  }

  async runs(filter: { host?: string; container?: string; limit?: number } = {}): Promise<UpdateRunRow[]> {
    const hostId = filter.host ? (await this.d.fleet.getHostRow(filter.host)).id : undefined;
    return this.d.store.updates.runs({ hostId, container: filter.container, limit: filter.limit });
  }

  async run(id: string): Promise<UpdateRunRow> {
    const row = await this.d.store.updates.run(id);
    if (!row) throw new NotFound(`no update run ${id}`);
    return row;
  }

  /** A server-wide override for one container (by name, or `<host>/<name>` for one host's), pushed to agents; null removes it. */
  async setPolicy(container: string, policy: 'auto' | 'manual' | 'pinned' | null, hostRef?: string): Promise<void> {
    const key = hostRef ? `${(await this.d.fleet.getHostRow(hostRef)).id}/${container}` : container;
    const current = await this.policies.policy();
    const containerPolicies = { ...current.containerPolicies };
    if (policy) containerPolicies[key] = policy;
    else delete containerPolicies[key];
    this.d.pushPolicy?.(await this.policies.setPolicy({ defaultPolicy: current.defaultPolicy, containerPolicies }));
  }

  async setDefaultPolicy(policy: 'auto' | 'manual' | 'pinned'): Promise<void> {
    const current = await this.policies.policy();
    this.d.pushPolicy?.(await this.policies.setPolicy({ defaultPolicy: policy, containerPolicies: current.containerPolicies }));
  }

  /** An agent's journal entries as they are stored: update steps and outcomes among them. */
  onAgentJournal(host: HostRow, entries: JournalEntry[]): void {
    const reports = updateReports(entries);
    if (reports.length === 0) return;
    this.agentRuns.intake(reports,
      (id, result) => void this.applier.complete(id, result).catch((err: Error) => this.d.log.error({ err: err.message, host: host.name, update: id }, 'could not record an update outcome')),
      (id, event) => {
        if (!event.progress) void this.d.store.updates.appendStep(id, event).catch(() => undefined);
      });
  }

  /** Direct hosts: journal records of updates cut short on this host's engine are undone. */
  private async recover(hostId: string): Promise<void> {
    if (!this.journalMayHoldRecords) return;
    try {
      const host = await this.d.store.hosts.find(hostId);
      if (!host || host.kind === 'agent') return;
      const pending = await this.journal.list();
      if (pending.length === 0) {
        this.journalMayHoldRecords = false;
        return;
      }
      const { docker } = await this.d.fleet.docker(hostId);
      if (!pending.some((p) => !p.host || p.host === docker.label)) return;
      for (const r of await recoverInterruptedUpdates(docker, this.journal)) {
        this.d.log.warn({ host: host.name, container: r.containerName, outcome: r.outcome, reason: r.reason }, 'an interrupted update was undone');
        const id = findRunId(pending, r.oldContainerId);
        if (id) await this.applier.complete(id, r).catch(() => undefined);
      }
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, host: hostId }, 'could not recover interrupted updates');
    }
  }

  /** The first check a minute after start, then every interval; off (0): look again in a minute whether it was turned on. */
  private async schedule(firstInMs?: number): Promise<void> {
    const s = await this.settings.get().catch(() => undefined);
    if (this.stopping.signal.aborted) return;
    const every = s?.checkIntervalMs ?? 0;
    this.timer = setTimeout(() => {
      const due = every > 0 && (this.d.owns?.() ?? true) ? this.check().catch((err: Error) => this.d.log.error({ err: err.message }, 'update check failed')) : Promise.resolve();
      void due.then(() => this.schedule());
    }, every > 0 ? Math.min(firstInMs ?? every, every) : 60_000);
    this.timer.unref();
  }
}

function findRunId(pending: { id: string; oldContainerId: string }[], oldContainerId: string): string | undefined {
  return pending.find((p) => p.oldContainerId === oldContainerId)?.id;
}
