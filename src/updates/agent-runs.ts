// Updates on agent hosts run on the agent (SPEC S6): the server sends one
// UpdateContainer command, the agent accepts it and reports every step and the
// outcome through its journal (sent at once when connected, replayed after a
// reconnect). A server that restarts mid-update still learns the outcome: the
// run row is completed whenever the outcome arrives, whoever is waiting.
import type { CommandResult, JournalEntry } from '../proto/generated/flotilla.ts';
import type { CommandBody } from '../cluster/sessions.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import { encodeRegistryAuth } from '../docker/images.ts';
import { BadRequest, HostUnavailable } from '../errors.ts';
import type { UpdatePlan, UpdateResult, UpdateStepEvent } from './recreate/index.ts';

export const UPDATE_STEP_KIND = 'update_step';
export const UPDATE_OUTCOME_KIND = 'update_outcome';

export interface AgentCommands {
  command(hostId: string, hostName: string, body: CommandBody, timeoutMs: number): Promise<CommandResult>;
}

export interface AgentUpdateReport {
  step?: { updateId: string; event: UpdateStepEvent };
  outcome?: { updateId: string; result: UpdateResult };
}

/** The journal entries of one agent that concern updates. */
export function updateReports(entries: JournalEntry[]): AgentUpdateReport[] {
  const out: AgentUpdateReport[] = [];
  for (const e of entries) {
    if (e.kind !== UPDATE_STEP_KIND && e.kind !== UPDATE_OUTCOME_KIND) continue;
    try {
      const data = JSON.parse(e.dataJson) as { updateId?: unknown; event?: UpdateStepEvent; result?: UpdateResult };
      if (typeof data.updateId !== 'string') continue;
      if (e.kind === UPDATE_STEP_KIND && data.event) out.push({ step: { updateId: data.updateId, event: data.event } });
      if (e.kind === UPDATE_OUTCOME_KIND && data.result) out.push({ outcome: { updateId: data.updateId, result: data.result } });
    } catch {
      // a malformed entry says nothing about an update; the journal keeps it as an event anyway
    }
  }
  return out;
}

export class AgentRuns {
  private readonly agents: () => AgentCommands | undefined;
  private readonly waiting = new Map<string, { resolve: (r: UpdateResult) => void; onStep?: (e: UpdateStepEvent) => void }>();

  constructor(agents: () => AgentCommands | undefined) {
    this.agents = agents;
  }

  /** Sends the command; resolves with the outcome the agent reports (however long after, across reconnects). */
  async run(host: HostRow, plan: UpdatePlan & { stableMs: number }, updateId: string, onStep?: (e: UpdateStepEvent) => void): Promise<UpdateResult> {
    const agents = this.agents();
    if (!agents) throw new HostUnavailable(host.name, `host "${host.name}" is an agent host, and the agent endpoint is off (FLOTILLA_CLUSTER=false)`);
    const done = new Promise<UpdateResult>((resolve) => this.waiting.set(updateId, { resolve, onStep }));
    const answer = await agents.command(host.id, host.name, {
      $case: 'update',
      value: {
        updateId, containerId: plan.containerId, image: plan.image ?? '', registryAuth: plan.pullAuth ? encodeRegistryAuth(plan.pullAuth) : '',
        healthTimeoutMs: plan.healthTimeoutMs ?? 0, stableMs: plan.stableMs,
      },
    }, 15_000).catch((err: Error) => {
      this.waiting.delete(updateId);
      throw err;
    });
    if (!answer.ok) {
      this.waiting.delete(updateId);
      throw new BadRequest(`host "${host.name}": the agent refused the update: ${answer.error}`);
    }
    return done;
  }

  /** Journal entries as they are stored: steps to whoever waits, outcomes to the waiting run (and the caller's store). */
  intake(reports: AgentUpdateReport[], onOutcome: (updateId: string, r: UpdateResult) => void, onStep: (updateId: string, e: UpdateStepEvent) => void): void {
    for (const r of reports) {
      if (r.step) {
        this.waiting.get(r.step.updateId)?.onStep?.(r.step.event);
        onStep(r.step.updateId, r.step.event);
      }
      if (r.outcome) {
        onOutcome(r.outcome.updateId, r.outcome.result);
        const w = this.waiting.get(r.outcome.updateId);
        this.waiting.delete(r.outcome.updateId);
        w?.resolve(r.outcome.result);
      }
    }
  }
}
