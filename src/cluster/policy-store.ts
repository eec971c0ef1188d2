// Policies and agent settings pushed to agents (SPEC A6). Kept in the settings
// table with a revision each; an agent says which revisions it holds in its
// Hello and gets only what changed. A change is pushed to every live agent.
import type { ServerMessage } from '../proto/generated/flotilla.ts';
import type { Db } from '../store/db.ts';

export interface AgentPolicy {
  revision: number;
  defaultPolicy: 'auto' | 'manual' | 'pinned';
  containerPolicies: Record<string, string>;
}

export interface AgentSettings {
  revision: number;
  gracePeriodOfflineMs: number;
  values: Record<string, string>;
}

const POLICY_KEY = 'agent.policy';
const SETTINGS_KEY = 'agent.settings';

export class PolicyStore {
  private readonly db: Db;
  private readonly defaultGraceMs: number;

  constructor(db: Db, defaultGraceMs: number) {
    this.db = db;
    this.defaultGraceMs = defaultGraceMs;
  }

  async policy(): Promise<AgentPolicy> {
    return (await this.read<AgentPolicy>(POLICY_KEY)) ?? { revision: 1, defaultPolicy: 'manual', containerPolicies: {} };
  }

  async settings(): Promise<AgentSettings> {
    return (await this.read<AgentSettings>(SETTINGS_KEY)) ?? { revision: 1, gracePeriodOfflineMs: this.defaultGraceMs, values: {} };
  }

  async setPolicy(change: Omit<AgentPolicy, 'revision'>): Promise<ServerMessage> {
    const next = { ...change, revision: (await this.policy()).revision + 1 };
    await this.write(POLICY_KEY, next);
    return policyMessage(next);
  }

  async setSettings(change: Omit<AgentSettings, 'revision'>): Promise<ServerMessage> {
    const next = { ...change, revision: (await this.settings()).revision + 1 };
    await this.write(SETTINGS_KEY, next);
    return settingsMessage(next);
  }

  /** What an agent holding these revisions is missing. */
  async updatesFor(policyRevision: number, settingsRevision: number): Promise<ServerMessage[]> {
    const out: ServerMessage[] = [];
    const p = await this.policy();
    if (p.revision !== policyRevision) out.push(policyMessage(p));
    const s = await this.settings();
    if (s.revision !== settingsRevision) out.push(settingsMessage(s));
    return out;
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private async write(key: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    await this.db.insertInto('settings').values({ key, value: text }).onConflict((oc) => oc.column('key').doUpdateSet({ value: text })).execute();
  }
}

function policyMessage(p: AgentPolicy): ServerMessage {
  return { body: { $case: 'policy', value: { revision: p.revision, defaultPolicy: p.defaultPolicy, containerPolicies: p.containerPolicies } } };
}

function settingsMessage(s: AgentSettings): ServerMessage {
  return { body: { $case: 'settings', value: { revision: s.revision, gracePeriodOfflineMs: s.gracePeriodOfflineMs, values: s.values } } };
}
