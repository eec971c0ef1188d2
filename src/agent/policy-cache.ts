// Policies and settings pushed by the server (SPEC A6), kept on disk so the
// agent knows them after a restart, even while the server is unreachable.
import path from 'node:path';
import type { PolicySync, SettingsSync } from '../proto/generated/flotilla.ts';
import { readIfExists, writeFileAtomic } from './files.ts';

export interface CachedPolicies {
  policy: PolicySync;
  settings: SettingsSync;
}

const EMPTY: CachedPolicies = {
  policy: { revision: 0, defaultPolicy: 'manual', containerPolicies: {} },
  settings: { revision: 0, gracePeriodOfflineMs: 0, values: {} },
};

export class PolicyCache {
  private readonly file: string;
  private current: CachedPolicies;

  private constructor(file: string, current: CachedPolicies) {
    this.file = file;
    this.current = current;
  }

  static async open(dir: string): Promise<PolicyCache> {
    const file = path.join(dir, 'policy_cache.json');
    const text = await readIfExists(file);
    let current = EMPTY;
    if (text) {
      try {
        current = { ...EMPTY, ...(JSON.parse(text) as CachedPolicies) };
      } catch {
        // A damaged cache is not fatal: the server sends everything again on connect.
      }
    }
    return new PolicyCache(file, current);
  }

  get(): CachedPolicies {
    return this.current;
  }

  async setPolicy(policy: PolicySync): Promise<void> {
    this.current = { ...this.current, policy };
    await writeFileAtomic(this.file, JSON.stringify(this.current, null, 2), 0o600);
  }

  async setSettings(settings: SettingsSync): Promise<void> {
    this.current = { ...this.current, settings };
    await writeFileAtomic(this.file, JSON.stringify(this.current, null, 2), 0o600);
  }

  /** Container label flotilla.policy > server per-container override > server default > manual. */
  resolvePolicy(containerName: string, labels: Record<string, string>): string {
    return labels['flotilla.policy'] ?? this.current.policy.containerPolicies[containerName] ?? (this.current.policy.defaultPolicy || 'manual');
  }
}
