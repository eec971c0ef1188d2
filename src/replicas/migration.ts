// The replicas' tables (issue 13): who is alive (heartbeats) and which replica
// holds each agent's stream. Listed in src/store/migrations.ts as 0010_replicas.
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const replicasMigration = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('replicas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('peer_address', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('agent_streams')
      .addColumn('host_id', 'text', (c) => c.primaryKey())
      .addColumn('replica_id', 'text', (c) => c.notNull())
      .addColumn('since', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('agent_streams_replica').on('agent_streams').column('replica_id').execute();
  },
});
