// Which replica holds each agent's stream (issue 13). A replica claims a host
// when its agent connects and releases it when the stream ends — only if it
// still holds it: an agent that already reconnected to another replica must not
// be marked disconnected by the one it left. Orphans (held by a replica that
// died, or left over by a server that was killed) are released by the sweeper.
import type { Db } from '../store/db.ts';
import type { AgentHooks } from '../cluster/agent-hooks.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { Logger } from '../log.ts';

export class AgentDirectory {
  private readonly db: Db;
  readonly replicaId: string;

  constructor(db: Db, replicaId: string) {
    this.db = db;
    this.replicaId = replicaId;
  }

  async claim(hostId: string): Promise<void> {
    const since = new Date().toISOString();
    await this.db.insertInto('agent_streams').values({ host_id: hostId, replica_id: this.replicaId, since })
      .onConflict((oc) => oc.column('host_id').doUpdateSet({ replica_id: this.replicaId, since })).execute();
  }

  /** True when this replica held the stream (and no longer does). */
  async release(hostId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('agent_streams').where('host_id', '=', hostId).where('replica_id', '=', this.replicaId).returning('host_id').execute();
    return r.length > 0;
  }

  /** The replica holding the host's stream, if any. */
  async holder(hostId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('agent_streams').select('replica_id').where('host_id', '=', hostId).executeTakeFirst())?.replica_id;
  }

  /** Removes the entries of the replicas named (dead ones); answers the hosts they held. */
  async releaseReplicas(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.db.deleteFrom('agent_streams').where('replica_id', 'in', ids).returning('host_id').execute()).map((r) => r.host_id);
  }

  /** Entries whose replica has no row at all (a server killed before this directory existed, or swept elsewhere mid-way). */
  async releaseUnowned(): Promise<string[]> {
    const rows = await this.db.deleteFrom('agent_streams')
      .where('replica_id', 'not in', this.db.selectFrom('replicas').select('id'))
      .returning('host_id').execute();
    return rows.map((r) => r.host_id);
  }

  /**
   * The cluster's hooks with the directory kept: claimed before the host is marked connected, released
   * before it is marked disconnected — and a disconnect this replica no longer holds changes nothing.
   */
  wrap(inner: AgentHooks, log: Logger): AgentHooks {
    return {
      ...bind(inner),
      connected: async (host: HostRow, hello) => {
        await this.claim(host.id);
        await inner.connected(host, hello);
      },
      disconnected: async (host: HostRow, reason, detail) => {
        if (!(await this.release(host.id).catch(() => true))) {
          log.info({ host: host.name }, 'agent stream ended here after it moved to another replica: status left to that one');
          return;
        }
        await inner.disconnected(host, reason, detail);
      },
    };
  }
}

function bind(h: AgentHooks): AgentHooks {
  return {
    connected: h.connected.bind(h), heartbeat: h.heartbeat.bind(h), state: h.state.bind(h), event: h.event.bind(h),
    journal: h.journal.bind(h), disconnected: h.disconnected.bind(h), certRefused: h.certRefused.bind(h),
  };
}
