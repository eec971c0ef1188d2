// Agent hosts as the fleet sees them: the cluster reports connects, heartbeats,
// state, events, journals and disconnects; this turns them into host status,
// inventory and events, the same way direct hosts get them from syncing.
import type { AgentHooks } from '../cluster/agent-hooks.ts';
import type { Heartbeat, Hello, JournalEntry, StateReport } from '../proto/generated/flotilla.ts';
import type { DockerEvent } from '../docker/events.ts';
import type { ContainerSummary } from '../docker/containers.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HeartbeatWrite, HostRow } from '../store/hosts-repo.ts';
import type { DisconnectReason } from '../store/schema.ts';
import { nowIso } from '../store/db.ts';
import type { StatusTracker } from './status-tracker.ts';
import type { EventWatcher } from './event-watcher.ts';
import type { SyncScheduler } from './sync-scheduler.ts';
import type { SyncResult } from './host-sync.ts';
import { containerItems, countContainers } from './engine-snapshot.ts';
import { detectOverlap, type OverlapNotice } from './source-overlap.ts';

/** How long heartbeats wait to be written together: last_seen_at is at most this late in the store. */
export const HEARTBEAT_FLUSH_MS = 1000;

export interface AgentHostsDeps {
  store: Store;
  tracker: StatusTracker;
  watcher: EventWatcher;
  scheduler: SyncScheduler<HostRow, SyncResult>;
  log: Logger;
  onOverlap(notice: OverlapNotice): void;
}

export class AgentHosts implements AgentHooks {
  private readonly d: AgentHostsDeps;
  /** Told of every journal entry once it is stored (the first time only): image updates read their reports here. */
  readonly journalListeners = new Set<(host: HostRow, entries: JournalEntry[]) => void>();
  /** Heartbeats not yet stored, the latest per host: written in one batch per HEARTBEAT_FLUSH_MS. */
  private readonly pendingBeats = new Map<string, HeartbeatWrite>();
  private beatsTimer: NodeJS.Timeout | undefined;
  /** The engine ID each session last reported (keyed by its host row, which lives as long as the session). */
  private readonly engineSeen = new WeakMap<HostRow, string | null>();
  constructor(deps: AgentHostsDeps) {
    this.d = deps;
  }

  async connected(host: HostRow, hello: Hello): Promise<void> {
    const at = nowIso();
    await this.d.tracker.move(host, 'connected', 'agent connected', {
      agent_version: hello.agentVersion, agent_features: JSON.stringify(hello.features), engine_id: hello.engineId || null,
      connected_at: at, last_seen_at: at, disconnect_reason: null, consecutive_failures: 0,
    });
    await this.checkEngine(host, hello.engineId);
    // A full inventory through the tunnel, now that it works.
    this.d.scheduler.dueNow(host.id);
  }

  /**
   * Queues the heartbeat for the next batched write and returns at once (the channel routes its next
   * message, a command result maybe, without waiting on the store). Only a changed engine ID reads the store.
   */
  async heartbeat(host: HostRow, hb: Heartbeat): Promise<void> {
    this.pendingBeats.set(host.id, { id: host.id, at: nowIso(), agentVersion: hb.agentVersion, agentFeatures: JSON.stringify(hb.features) });
    this.beatsTimer ??= setTimeout(() => void this.flushHeartbeats(), HEARTBEAT_FLUSH_MS).unref();
    const known = this.engineSeen.has(host) ? this.engineSeen.get(host) : host.engine_id;
    if (!hb.engineId || hb.engineId === known) return;
    const current = await this.d.store.hosts.find(host.id);
    if (!current) return;
    this.engineSeen.set(host, hb.engineId);
    if (hb.engineId !== current.engine_id) {
      await this.d.store.hosts.update(host.id, { engine_id: hb.engineId });
      await this.checkEngine(current, hb.engineId);
    }
  }

  /** Writes the queued heartbeats now (also what the timer does). A failure is logged: the next beat writes again. */
  async flushHeartbeats(): Promise<void> {
    clearTimeout(this.beatsTimer);
    this.beatsTimer = undefined;
    if (this.pendingBeats.size === 0) return;
    const beats = [...this.pendingBeats.values()];
    this.pendingBeats.clear();
    try {
      await this.d.store.hosts.recordHeartbeats(beats);
    } catch (err) {
      this.d.log.warn({ hosts: beats.length, err: (err as Error).message }, 'storing agent heartbeats failed');
    }
  }

  async state(host: HostRow, report: StateReport): Promise<void> {
    const containers = JSON.parse(report.containersJson || '[]') as ContainerSummary[];
    await this.d.store.inventory.replace(host.id, 'container', containerItems(containers));
    const c = countContainers(containers);
    await this.d.store.hosts.update(host.id, {
      containers_total: c.total, containers_running: c.running, last_seen_at: nowIso(),
      engine_version: report.engineVersion || null, api_version: report.apiVersion || null,
    });
  }

  async event(host: HostRow, eventJson: string): Promise<void> {
    await this.d.watcher.ingest(host, JSON.parse(eventJson) as DockerEvent);
  }

  /** Stores each entry once, however often a batch arrives (see EventsRepo.addJournalEntry). */
  async journal(host: HostRow, entries: JournalEntry[]): Promise<void> {
    const fresh: JournalEntry[] = [];
    for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
      const added = await this.d.store.events.addJournalEntry(host.id, e.seq, {
        at: new Date(e.atMs).toISOString(), host_id: host.id, type: 'journal', action: e.kind, actor_id: null,
        data: JSON.stringify({ seq: e.seq, data: safeJson(e.dataJson) }),
      });
      if (added) fresh.push(e);
    }
    for (const listen of this.journalListeners) listen(host, fresh);
    this.d.log.info({ host: host.name, entries: fresh.length, duplicates: entries.length - fresh.length }, 'agent journal stored');
  }

  /**
   * At server start, before the agent endpoint listens: no agent has a channel to this process yet. A server
   * that was killed left its agent hosts `connected`, and nothing else would correct that until the agent
   * reconnects (agent hosts are synced only while connected) — never, if the agent is gone.
   */
  async serverStarted(heldElsewhere?: Set<string>): Promise<void> {
    for (const host of await this.d.store.hosts.list()) {
      // With replicas, a stream another replica holds is that replica's to report (see src/replicas/).
      if (host.kind === 'agent' && host.status === 'connected' && !heldElsewhere?.has(host.id)) {
        await this.d.tracker.move(host, 'disconnected', 'the server restarted: waiting for the agent to reconnect', { disconnect_reason: 'server' });
      }
    }
  }

  async disconnected(host: HostRow, reason: DisconnectReason, detail: string): Promise<void> {
    const current = await this.d.store.hosts.find(host.id);
    if (!current) return;
    await this.d.tracker.move(current, 'disconnected', detail, { disconnect_reason: reason });
  }

  async certRefused(hostId: string, detail: string): Promise<void> {
    const current = await this.d.store.hosts.find(hostId);
    if (!current || current.kind !== 'agent') return;
    await this.d.tracker.move(current, 'disconnected', detail, { disconnect_reason: 'cert' });
  }

  private async checkEngine(host: HostRow, engineId: string): Promise<void> {
    if (!engineId) return;
    const notice = await detectOverlap(this.d.store, host, engineId);
    if (notice) this.d.onOverlap(notice);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
