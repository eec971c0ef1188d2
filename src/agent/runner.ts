// The agent's life after enrollment (SPEC A3–A7): keep one channel to the
// server, reconnecting with backoff; say hello, heartbeat, send state, forward
// events, answer commands, open tunnels; past the grace period offline, go
// autonomous and journal what happens; replay the journal when back.
import { EventEmitter } from 'node:events';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { AgentClient, AgentMessage, JournalEntry, ServerMessage } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';
import type { DockerEvent } from '../docker/events.ts';
import type { AgentConfig } from './config.ts';
import { agentClient } from './grpc-client.ts';
import { loadIdentity, type AgentIdentity } from './identity.ts';
import { Backoff } from './backoff.ts';
import { EngineWatch } from './engine-watch.ts';
import { OfflineJournal } from './journal.ts';
import { PolicyCache } from './policy-cache.ts';
import { AGENT_VERSION } from './enroll.ts';
import { handleServerMessage } from './server-messages.ts';
import { Renewal } from './renewal.ts';
import { CaMismatchCheck } from './ca-mismatch.ts';
import { AgentUpdates } from './update-command.ts';
import { trackChannelHealth, type ChannelHealthTracker } from './health-file.ts';

const DEFAULT_GRACE_MS = 30 * 60_000;
export const FEATURES = ['list', 'logs', 'update', 'hooks', 'pull', 'stats', 'docker-proxy'];
export type Channel = ClientDuplexStream<AgentMessage, ServerMessage>;

export interface RunnerEvents {
  connected: [];
  disconnected: [string];
  reconnecting: [number];
  autonomous: [boolean];
}

export class AgentRunner extends EventEmitter<RunnerEvents> {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly engine: EngineWatch;
  readonly backoff = new Backoff();
  identity: AgentIdentity;
  client: AgentClient;
  journal!: OfflineJournal;
  cache!: PolicyCache;
  channel: Channel | undefined;
  /** The channel whose journal replay has been sent: live journal entries wait for it (see sendJournalEntry). */
  private replayedOn: Channel | undefined;
  private stopped = false;
  private offlineSince: number | undefined = Date.now();
  autonomous = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private autonomyTimer: NodeJS.Timeout | undefined;
  private readonly renewal: Renewal;
  private readonly caCheck = new CaMismatchCheck();
  private readonly tunnels = new Set<() => void>();
  private readonly health: ChannelHealthTracker;
  readonly updates: AgentUpdates;

  constructor(config: AgentConfig, identity: AgentIdentity, log: Logger) {
    super();
    this.config = config;
    this.identity = identity;
    this.log = log;
    this.client = agentClient(config.serverAddr, identity);
    this.engine = new EngineWatch(config.dockerSocket, log);
    this.renewal = new Renewal(this);
    // The container's HEALTHCHECK reads this: healthy only while the channel is held (self-updates gate on it).
    this.health = trackChannelHealth(this, config.clusterDir, { log });
    this.updates = new AgentUpdates(this);
  }

  async start(): Promise<void> {
    this.journal = await OfflineJournal.open(this.config.clusterDir);
    this.cache = await PolicyCache.open(this.config.clusterDir);
    // Offline with a journal: pick up where it stops, so events while the agent itself was down are journaled too.
    const lastJournaled = this.journal.pending().filter((e) => e.kind === 'event').at(-1);
    const resumeAfter = lastJournaled ? (JSON.parse(lastJournaled.dataJson) as DockerEvent) : undefined;
    void this.engine.follow((e) => void this.onEngineEvent(e), resumeAfter);
    this.armAutonomy();
    await this.updates.recover();
    void this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.autonomyTimer);
    this.renewal.stop();
    this.channel?.cancel();
    for (const close of this.tunnels) close();
    this.tunnels.clear();
    this.engine.stop();
    await this.health.stop();
    this.client.close();
  }

  /** Remembers an open tunnel so stop() can end it (tunnels otherwise live as long as the server keeps them). */
  trackTunnel(close: () => void): void {
    this.tunnels.add(close);
  }

  send(msg: AgentMessage): void {
    this.channel?.write(msg);
  }

  /**
   * Sends one journal entry at once, but only on a channel whose replay is out: the server acknowledges
   * "through seq N", so an entry sent ahead of the replay would have its ack drop the older entries the
   * replay had not yet sent. Before the replay the entry stays on disk and the replay carries it.
   */
  sendJournalEntry(entry: JournalEntry): void {
    if (this.channel && this.replayedOn === this.channel) this.send({ body: { $case: 'journal', value: { batchId: `live-${entry.seq}`, entries: [entry] } } });
  }

  onRenewed(certPem: string, error: string): Promise<void> {
    return this.renewal.onRenewed(certPem, error);
  }

  /** After a renewal: reload the identity and reconnect with the new certificate. */
  async reloadIdentity(): Promise<void> {
    const id = await loadIdentity(this.config.clusterDir);
    if (!id) return;
    this.identity = id;
    const old = this.client;
    this.client = agentClient(this.config.serverAddr, id);
    this.channel?.cancel();
    old.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const why = await this.session().catch((err: Error) => err.message);
      if (this.stopped) return;
      this.onOffline(why);
      await this.caCheck.check(why, this.config.serverAddr, this.identity.caPem, this.config.clusterDir, this.log);
      const delay = this.backoff.next();
      this.emit('reconnecting', delay);
      this.log.info({ in_ms: delay, reason: why }, 'reconnecting to the server');
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** One channel's life; resolves with the reason it ended. */
  private session(): Promise<string> {
    return new Promise((resolve) => {
      const channel = this.client.channel();
      this.channel = channel;
      let settled = false;
      const done = (why: string) => {
        if (settled) return;
        settled = true;
        clearInterval(this.heartbeat);
        if (this.channel === channel) this.channel = undefined;
        resolve(why);
      };
      channel.on('data', (msg: ServerMessage) => void handleServerMessage(this, msg).catch((err: Error) => this.log.error({ err: err.message }, 'server message failed')));
      channel.on('error', (err: Error & { details?: string }) => done(err.details || err.message));
      channel.on('end', () => done('server closed the channel'));
      const { policy, settings } = this.cache.get();
      channel.write({ body: { $case: 'hello', value: {
        agentVersion: AGENT_VERSION, features: FEATURES, engineId: this.engine.engineId, hostName: this.config.hostName,
        policyRevision: policy.revision, settingsRevision: settings.revision,
      } } });
    });
  }

  /** Called when the server's Welcome arrives. */
  async onWelcome(heartbeatMs: number): Promise<void> {
    this.backoff.reset();
    const wasAutonomous = this.autonomous;
    this.offlineSince = undefined;
    this.setAutonomous(false);
    clearTimeout(this.autonomyTimer);
    this.log.info({ server: this.config.serverAddr }, 'connected to the server');
    this.emit('connected');
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.sendHeartbeat(), heartbeatMs);
    this.sendHeartbeat();
    await this.sendState();
    if (wasAutonomous) await this.journal.append('autonomous_leave', { at: Date.now() });
    await this.replayJournal();
    this.renewal.schedule();
  }

  async sendState(): Promise<void> {
    try {
      this.send({ body: { $case: 'state', value: await this.engine.snapshot() } });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the local engine state');
    }
  }

  private sendHeartbeat(): void {
    this.send({ body: { $case: 'heartbeat', value: {
      agentVersion: AGENT_VERSION, features: FEATURES, engineId: this.engine.engineId, sentAtMs: Date.now(), autonomous: this.autonomous,
    } } });
  }

  /** Sends what the journal holds, in batches; entries are dropped when the server acknowledges them. */
  private async replayJournal(): Promise<void> {
    const pending = this.journal.pending();
    this.replayedOn = this.channel;
    for (let i = 0; i < pending.length; i += 500) {
      this.send({ body: { $case: 'journal', value: { batchId: `${Date.now()}-${i}`, entries: pending.slice(i, i + 500) } } });
    }
  }

  private async onEngineEvent(e: DockerEvent): Promise<void> {
    if (this.channel && this.offlineSince === undefined) {
      this.send({ body: { $case: 'event', value: { eventJson: JSON.stringify(e) } } });
      return;
    }
    // Offline: nothing observed may be lost, so it goes to disk before anything else.
    await this.journal.append('event', e, e.timeNano ? Math.floor(Number(e.timeNano) / 1e6) : Date.now());
  }

  private onOffline(why: string): void {
    if (this.offlineSince === undefined) {
      this.offlineSince = Date.now();
      this.log.warn({ reason: why }, 'lost the server');
      this.emit('disconnected', why);
      this.armAutonomy();
    }
  }

  private armAutonomy(): void {
    clearTimeout(this.autonomyTimer);
    const grace = this.config.gracePeriodOfflineMs ?? (this.cache?.get().settings.gracePeriodOfflineMs || DEFAULT_GRACE_MS);
    this.autonomyTimer = setTimeout(() => {
      if (this.offlineSince !== undefined) void this.enterAutonomy();
    }, Math.max(0, (this.offlineSince ?? Date.now()) + grace - Date.now()));
    this.autonomyTimer.unref();
  }

  private async enterAutonomy(): Promise<void> {
    this.setAutonomous(true);
    await this.journal.append('autonomous_enter', { offlineSince: this.offlineSince });
    this.log.warn({ offline_since: new Date(this.offlineSince!).toISOString() }, 'autonomous mode: monitoring with cached policies, no updates');
  }

  private setAutonomous(on: boolean): void {
    if (this.autonomous === on) return;
    this.autonomous = on;
    this.emit('autonomous', on);
  }
}
