// Agents follow the server's version (SPEC S15): an agent host whose agent
// reports another version than the server's has its agent container (label
// flotilla.self=true) updated to the same repository at the server's version,
// through the applier's self-update path (an updater container, so a failed
// update leaves the old agent running). A version that failed once on a host is
// not tried again by itself: a retry is a manual update, or a new server version.
// Self-updates the server was waiting for when it stopped are read back from
// their updater containers, which outlive the server, once the host answers.
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/index.ts';
import type { HostRow } from '../../store/hosts-repo.ts';
import type { UpdateRunRow } from '../../store/updates-repo.ts';
import type { DockerClient } from '../../docker/client.ts';
import type { ContainerSummary } from '../../docker/containers.ts';
import { inspectContainer, listContainers } from '../../docker/containers.ts';
import { parseImageRef } from '../registry/reference.ts';
import type { UpdateResult } from '../recreate/index.ts';
import { awaitSelfUpdateResult } from './result.ts';
import { isSelfContainer, needsSelfUpdate, UPDATE_ID_LABEL } from './self.ts';

export type AgentVersionState =
  | 'current' | 'outdated' | 'updating' | 'failed' | 'no_self_container' | 'paused' | 'disconnected' | 'disabled';

export interface AgentVersionStatus {
  host: { id: string; name: string };
  agentVersion: string | null;
  serverVersion: string;
  state: AgentVersionState;
  /** The agent's container (label flotilla.self=true), when the inventory has one. */
  container: { id: string; name: string; image: string } | null;
  /** The reference the agent is (or would be) updated to. */
  target: string | null;
  /** The last self-update of this host, if any. */
  lastRun: { id: string; status: string; image: string; reason: string | null; startedAt: string } | null;
}

export interface FollowDeps {
  store: Store;
  log: Logger;
  serverVersion: string;
  docker: (host: HostRow) => Promise<DockerClient>;
  /** The applier's path: lock, run row, audit, notice; trigger `self`. */
  apply: (host: HostRow, containerId: string, image: string) => Promise<UpdateRunRow>;
  complete: (runId: string, result: UpdateResult) => Promise<void>;
  enabled: () => Promise<boolean>;
}

/** The agent image at another version: the same registry and repository, the version as the tag. */
export function selfUpdateTarget(image: string, version: string): string | undefined {
  try {
    const ref = parseImageRef(image);
    const registry = ref.registry === 'docker.io' ? '' : `${ref.registry}/`;
    const repository = ref.registry === 'docker.io' ? ref.repository.replace(/^library\//, '') : ref.repository;
    return `${registry}${repository}:${version}`;
  } catch {
    return undefined;
  }
}

const GIVEN_UP = new Set(['rolled_back', 'failed', 'interrupted']);

export class AgentVersionFollower {
  private readonly d: FollowDeps;
  private readonly busy = new Set<string>();
  /** Hosts told about once per (host, situation), so a sync every few seconds does not repeat a warning. */
  private readonly warned = new Set<string>();
  /** Whether a flotilla.self container is this host's agent, by host and container ID (see selfContainer). */
  private readonly verdicts = new Map<string, 'ours' | 'theirs' | 'unnamed'>();
  /** Runs older than this process were awaited by a server that stopped: they are read back here. */
  private readonly startedAt = new Date().toISOString();
  private orphanHosts: Promise<Set<string>> | undefined;

  constructor(deps: FollowDeps) {
    this.d = deps;
  }

  /** Looks at one host after it synced: reads back a self-update cut short, or starts one when its agent is behind. */
  async consider(host: HostRow): Promise<void> {
    if (host.kind !== 'agent' || host.status !== 'connected' || this.busy.has(host.id)) return;
    const orphaned = (await this.orphans()).has(host.id);
    // The common case, every sync of every host: nothing to read, the versions agree, no query.
    if (!orphaned && !needsSelfUpdate(host.agent_version, this.d.serverVersion)) return;
    this.busy.add(host.id);
    try {
      const runs = await this.selfRuns(host.id);
      const orphan = runs.find((r) => r.status === 'running' && r.started_at < this.startedAt);
      if (orphan) return await this.readBack(host, orphan);
      (await this.orphans()).delete(host.id);
      const status = await this.statusOf(host, runs, await this.enabled());
      if (status.state !== 'outdated' || !status.container || !status.target) return this.tell(host, status);
      this.d.log.info({ host: host.name, from: status.agentVersion, to: this.d.serverVersion, image: status.target }, 'updating the agent to the server\'s version');
      const run = await this.d.apply(host, status.container.id, status.target);
      this.d.log.info({ host: host.name, outcome: run.status, reason: run.reason }, 'agent self-update done');
    } catch (err) {
      this.warnOnce(`${host.id}/error/${(err as Error).message}`, { host: host.name, err: (err as Error).message }, 'agent self-update not started');
    } finally {
      this.busy.delete(host.id);
    }
  }

  /** Every agent host: its agent's version against the server's, and what is done about it. */
  async status(): Promise<AgentVersionStatus[]> {
    const hosts = (await this.d.store.hosts.list()).filter((h) => h.kind === 'agent' && !h.duplicate_of);
    const enabled = await this.enabled();
    return Promise.all(hosts.map(async (h) => this.statusOf(h, await this.selfRuns(h.id), enabled)));
  }

  private async statusOf(host: HostRow, runs: UpdateRunRow[], enabled: boolean): Promise<AgentVersionStatus> {
    const self = await this.selfContainer(host);
    const container = self ? { id: self.Id, name: (self.Names?.[0] ?? self.Id).replace(/^\//, ''), image: self.Image ?? '' } : null;
    const target = container ? selfUpdateTarget(await this.configImage(host, container), this.d.serverVersion) ?? null : null;
    const last = runs[0];
    const base: Omit<AgentVersionStatus, 'state'> = {
      host: { id: host.id, name: host.name }, agentVersion: host.agent_version, serverVersion: this.d.serverVersion, container, target,
      lastRun: last ? { id: last.id, status: last.status, image: last.image_ref, reason: last.reason, startedAt: last.started_at } : null,
    };
    const state = ((): AgentVersionState => {
      if (!needsSelfUpdate(host.agent_version, this.d.serverVersion)) return 'current';
      if (last?.status === 'running') return 'updating';
      if (host.agent_state === 'paused' || host.status === 'maintenance') return 'paused';
      if (host.status !== 'connected') return 'disconnected';
      if (!container || !target) return 'no_self_container';
      if (runs.some((r) => r.image_ref === target && GIVEN_UP.has(r.status))) return 'failed';
      return enabled ? 'outdated' : 'disabled';
    })();
    return { ...base, state };
  }

  /**
   * The agent's own container: the running one labelled flotilla.self=true. An engine can run several
   * (two agents on one host; a test bed): then it is the one whose FLOTILLA_HOST_NAME is this host's name,
   * or, without that variable, whose hostname (by default its short ID, which the agent then enrolls as)
   * is. A single one is taken unless its FLOTILLA_HOST_NAME names another host. Verdicts are kept per
   * container ID (a container's environment never changes), so a list of agents costs no inspect twice.
   */
  private async selfContainer(host: HostRow): Promise<ContainerSummary | undefined> {
    const all = (await this.d.store.inventory.list<ContainerSummary>(host.id, 'container'))
      .filter((c) => isSelfContainer(c.Labels as Record<string, string> | undefined) && c.State === 'running');
    if (all.length === 0) return undefined;
    for (const c of all) {
      const verdict = await this.ownVerdict(host, c.Id);
      if (verdict === 'ours' || (verdict === 'unnamed' && all.length === 1)) return c;
    }
    return undefined;
  }

  private async ownVerdict(host: HostRow, id: string): Promise<'ours' | 'theirs' | 'unnamed'> {
    const key = `${host.id}/${host.name}/${id}`;
    const known = this.verdicts.get(key);
    if (known) return known;
    let verdict: 'ours' | 'theirs' | 'unnamed';
    try {
      const c = await inspectContainer(await this.d.docker(host), id, { timeoutMs: 10_000 });
      const named = (c.Config.Env ?? []).find((e) => e.startsWith('FLOTILLA_HOST_NAME='))?.slice('FLOTILLA_HOST_NAME='.length);
      if (named !== undefined) verdict = named === host.name ? 'ours' : 'theirs';
      else verdict = c.Config.Hostname === host.name || id.startsWith(host.name) ? 'ours' : 'unnamed';
    } catch {
      return 'unnamed'; // not kept: the engine may answer next time
    }
    if (this.verdicts.size >= 10_000) this.verdicts.clear();
    this.verdicts.set(key, verdict);
    return verdict;
  }

  /** The list shows an image ID once the tag moved on the engine; the reference is in the inspect. */
  private async configImage(host: HostRow, c: { id: string; image: string }): Promise<string> {
    if (!/^(sha256:)?[a-f0-9]{12,64}$/.test(c.image)) return c.image;
    try {
      return (await inspectContainer(await this.d.docker(host), c.id, { timeoutMs: 10_000 })).Config.Image ?? c.image;
    } catch {
      return c.image;
    }
  }

  private async enabled(): Promise<boolean> {
    return this.d.enabled().catch(() => false);
  }

  /** Hosts with a self-update that a server before this one started and did not see end; read once from the store. */
  private orphans(): Promise<Set<string>> {
    this.orphanHosts ??= this.d.store.updates.runs({ trigger: 'self', status: 'running', limit: 10_000 })
      .then((runs) => new Set(runs.filter((r) => r.started_at < this.startedAt).map((r) => r.host_id)))
      .catch(() => new Set<string>());
    return this.orphanHosts;
  }

  private tell(host: HostRow, status: AgentVersionStatus): void {
    const why: Partial<Record<AgentVersionState, string>> = {
      no_self_container: 'no running container labelled flotilla.self=true on the host (an agent not run from the agent image): update the agent yourself',
      failed: `the self-update to ${status.target} did not succeed (${status.lastRun?.reason ?? 'see its run'}); it is not tried again until asked (POST …/containers/${status.container?.name}/update) or the server's version changes`,
      paused: 'the host is paused or in maintenance',
    };
    const reason = why[status.state];
    if (reason) this.warnOnce(`${host.id}/${status.state}/${host.agent_version}`, { host: host.name, agent: host.agent_version, server: this.d.serverVersion }, `agent version differs from the server's and is not updated: ${reason}`);
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.d.log.warn(fields, message);
  }

  private async selfRuns(hostId: string): Promise<UpdateRunRow[]> {
    return (await this.d.store.updates.runs({ hostId, limit: 50 })).filter((r) => r.trigger === 'self');
  }

  /** A self-update the server stopped waiting for: its updater's output holds the outcome. */
  private async readBack(host: HostRow, run: UpdateRunRow): Promise<void> {
    const docker = await this.d.docker(host);
    const [updater] = await listContainers(docker, { all: true, filters: { label: [`${UPDATE_ID_LABEL}=${run.id}`] } });
    let result: UpdateResult;
    if (updater) {
      result = await awaitSelfUpdateResult(docker, updater.Id);
    } else {
      // No updater left to ask: the version the agent now reports says how it ended.
      const version = run.image_ref.slice(run.image_ref.lastIndexOf(':') + 1);
      const updated = host.agent_version === version;
      result = {
        outcome: updated ? 'updated' : 'failed', containerName: run.container_name, oldContainerId: run.old_container_id, oldImageId: '', steps: [], durationMs: 0,
        reason: updated ? undefined : `the server stopped during this self-update and its updater is gone; the agent reports ${host.agent_version ?? 'no version'}`,
      };
    }
    this.d.log.info({ host: host.name, update: run.id, outcome: result.outcome }, 'a self-update the server stopped waiting for was read back');
    await this.d.complete(run.id, result);
    // Another may be left for this host; the next sync looks again.
    if (!(await this.selfRuns(host.id)).some((r) => r.status === 'running' && r.started_at < this.startedAt)) (await this.orphans()).delete(host.id);
  }
}
