// Container updates on the agent's own engine (SPEC S6, A5): the server's
// UpdateContainer command is accepted at once and run here, so a server that
// disappears mid-update cannot leave the host half-updated. Each step and the
// outcome go into the offline journal (durable, replayed after a reconnect)
// and are sent at once while connected. Never while autonomous; one update per
// container at a time; an update cut short by the agent's own death is undone
// when it starts again.
import path from 'node:path';
import type { Command, UpdateContainer } from '../proto/generated/flotilla.ts';
import type { RegistryAuth } from '../docker/images.ts';
import { FileUpdateJournal, recoverInterruptedUpdates, updateContainer, type UpdateResult, type UpdateStepEvent } from '../updates/recreate/index.ts';
import type { AgentRunner } from './runner.ts';
import { inspectContainer } from '../docker/containers.ts';

const STEP_KIND = 'update_step';
const OUTCOME_KIND = 'update_outcome';

export class AgentUpdates {
  private readonly agent: AgentRunner;
  private readonly journal: FileUpdateJournal;
  private readonly running = new Set<string>();

  constructor(agent: AgentRunner) {
    this.agent = agent;
    this.journal = new FileUpdateJournal(path.join(agent.config.clusterDir, 'update-journal'));
  }

  /** At start: what an earlier run of this agent left half done is put back, and the outcome reported. */
  async recover(): Promise<void> {
    try {
      const pending = await this.journal.list();
      if (pending.length === 0) return;
      for (const r of await recoverInterruptedUpdates(this.agent.engine.docker, this.journal)) {
        const id = pending.find((p) => p.oldContainerId === r.oldContainerId)?.id;
        this.agent.log.warn({ container: r.containerName, outcome: r.outcome, reason: r.reason }, 'an update cut short by the agent stopping was undone');
        if (id) await this.report(OUTCOME_KIND, { updateId: id, result: r });
      }
    } catch (err) {
      this.agent.log.error({ err: (err as Error).message }, 'could not recover interrupted updates');
    }
  }

  handle(cmd: Command, body: UpdateContainer): void {
    const refuse = (error: string) => this.agent.send({ body: { $case: 'result', value: { id: cmd.id, ok: false, error } } });
    if (this.agent.autonomous) return refuse('the agent is in autonomous mode: it never updates until it is back with the server');
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(body.updateId)) return refuse('the update id is not valid');
    if (this.running.has(body.containerId)) return refuse(`container ${body.containerId} is being updated now`);
    let pullAuth: RegistryAuth | undefined;
    try {
      pullAuth = body.registryAuth ? (JSON.parse(Buffer.from(body.registryAuth, 'base64').toString('utf8')) as RegistryAuth) : undefined;
    } catch {
      return refuse('the registry credentials sent are not valid base64 JSON');
    }
    this.running.add(body.containerId);
    void this.start(cmd, body, pullAuth);
  }

  private async start(cmd: Command, body: UpdateContainer, pullAuth: RegistryAuth | undefined): Promise<void> {
    // Its own container would be stopped under it: the server updates agents through an updater container.
    const labels = await inspectContainer(this.agent.engine.docker, body.containerId).then((c) => c.Config.Labels ?? {}, () => ({} as Record<string, string>));
    if (labels['flotilla.self'] === 'true') {
      this.running.delete(body.containerId);
      this.agent.send({ body: { $case: 'result', value: { id: cmd.id, ok: false, error: 'this is a Flotilla agent container: it is updated by a self-update (an updater container), not in place by the agent' } } });
      return;
    }
    this.agent.send({ body: { $case: 'result', value: { id: cmd.id, ok: true, error: '' } } });
    void this.run(body, pullAuth).finally(() => this.running.delete(body.containerId));
  }

  private async run(body: UpdateContainer, pullAuth: RegistryAuth | undefined): Promise<void> {
    const updateId = body.updateId;
    let result: UpdateResult;
    try {
      result = await updateContainer(this.agent.engine.docker, {
        containerId: body.containerId, image: body.image || undefined, pullAuth,
        healthTimeoutMs: body.healthTimeoutMs || undefined, stableMs: body.stableMs || undefined,
      }, {
        journal: this.journal, updateId,
        // Pull progress is many small messages: not journaled.
        onStep: (event: UpdateStepEvent) => (event.progress ? undefined : this.report(STEP_KIND, { updateId, event })),
      });
    } catch (err) {
      result = { outcome: 'failed', containerName: body.containerId, oldContainerId: body.containerId, oldImageId: '', reason: (err as Error).message, steps: [], durationMs: 0 };
    }
    this.agent.log.info({ container: result.containerName, outcome: result.outcome, reason: result.reason, ms: result.durationMs }, 'container update done');
    await this.report(OUTCOME_KIND, { updateId, result });
  }

  /** On disk first; then sent at once when connected (the server acknowledges it like any journal entry). */
  private async report(kind: string, data: unknown): Promise<void> {
    try {
      this.agent.sendJournalEntry(await this.agent.journal.append(kind, data));
    } catch (err) {
      this.agent.log.error({ err: (err as Error).message, kind }, 'could not journal an update report');
    }
  }
}
