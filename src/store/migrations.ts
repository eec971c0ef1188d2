// Schema migrations, in code, written with Kysely's schema builder so they run
// unchanged on SQLite and PostgreSQL. Append new migrations; never edit old ones.
import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { replicasMigration } from '../replicas/migration.ts';

export type DialectName = 'sqlite' | 'postgres';

// The only dialect difference in the schema: an auto-numbered key.
function serialKey(dialect: DialectName) {
  return (c: ColumnDefinitionBuilder) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity());
}

const initial = (dialect: DialectName): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createTable('hosts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('tls_sealed', 'text')
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('environment_label', 'text')
      .addColumn('sync_interval_s', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('status_changed_at', 'text', (c) => c.notNull())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_seen_at', 'text')
      .addColumn('last_sync_at', 'text')
      .addColumn('last_sync_ms', 'integer')
      .addColumn('engine_id', 'text')
      .addColumn('engine_version', 'text')
      .addColumn('api_version', 'text')
      .addColumn('os', 'text')
      .addColumn('arch', 'text')
      .addColumn('cpus', 'integer')
      .addColumn('memory_bytes', 'bigint')
      .addColumn('engine_name', 'text')
      .addColumn('containers_total', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('containers_running', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('host_status_history')
      .addColumn('id', 'integer', serialKey(dialect))
      .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
      .addColumn('from_status', 'text', (c) => c.notNull())
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('host_status_history_host').on('host_status_history').columns(['host_id', 'id']).execute();
    await db.schema.createTable('inventory')
      .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('object_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('inventory_pk', ['host_id', 'kind', 'object_id'])
      .execute();
    await db.schema.createIndex('inventory_kind_object').on('inventory').columns(['kind', 'object_id']).execute();
    await db.schema.createIndex('inventory_kind_name').on('inventory').columns(['kind', 'name']).execute();
    await db.schema.createTable('audit_log')
      .addColumn('id', 'integer', serialKey(dialect))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('username', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('result', 'text', (c) => c.notNull())
      .addColumn('detail', 'text')
      .addColumn('request_id', 'text')
      .addColumn('source_ip', 'text')
      .execute();
    await db.schema.createTable('events')
      .addColumn('id', 'integer', serialKey(dialect))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('host_id', 'text')
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('data', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('events_host').on('events').columns(['host_id', 'id']).execute();
    await db.schema.createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
});

// Agents (SPEC S2–S4, S8): enrollment tokens, revoked certificates, agent fields on hosts.
const agents = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('enroll_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('digest', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('uses_total', 'integer', (c) => c.notNull())
      .addColumn('uses_left', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .execute();
    await db.schema.createTable('revoked_certs')
      .addColumn('serial', 'text', (c) => c.primaryKey())
      .addColumn('host_id', 'text')
      .addColumn('host_name', 'text')
      .addColumn('revoked_at', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .execute();
    for (const [name, type] of [
      ['agent_state', 'text'], ['agent_version', 'text'], ['agent_features', 'text'], ['cert_serial', 'text'],
      ['cert_not_after', 'text'], ['disconnect_reason', 'text'], ['connected_at', 'text'], ['duplicate_of', 'text'],
    ] as const) {
      await db.schema.alterTable('hosts').addColumn(name, type).execute();
    }
    await db.schema.createIndex('hosts_cert_serial').on('hosts').column('cert_serial').execute();
    await db.schema.createIndex('hosts_engine_id').on('hosts').column('engine_id').execute();
  },
});

// The highest offline-journal entry stored per agent host: replays are idempotent.
const journalSeq = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('hosts').addColumn('journal_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  },
});

// Client certificates of users for the Docker endpoint (SPEC S13); they go with their user.
const userCerts = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('user_certs')
      .addColumn('serial', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('not_after', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('user_certs_user').on('user_certs').columns(['user_id', 'created_at']).execute();
  },
});

// Swarm clusters (SPEC W1): clusters by Swarm ID, their status history and inventory; hosts know their node.
const swarm = (dialect: DialectName): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('swarm_clusters')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('sync_interval_s', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('status_changed_at', 'text', (c) => c.notNull())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_seen_at', 'text')
      .addColumn('last_sync_at', 'text')
      .addColumn('last_sync_ms', 'integer')
      .addColumn('leader_node_id', 'text')
      .addColumn('last_manager_host_id', 'text')
      .addColumn('health', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('swarm_status_history')
      .addColumn('id', 'integer', serialKey(dialect))
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('swarm_clusters.id').onDelete('cascade'))
      .addColumn('from_status', 'text', (c) => c.notNull())
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('swarm_status_history_cluster').on('swarm_status_history').columns(['cluster_id', 'id']).execute();
    await db.schema.createTable('swarm_inventory')
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('swarm_clusters.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('object_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('swarm_inventory_pk', ['cluster_id', 'kind', 'object_id'])
      .execute();
    for (const name of ['swarm_node_id', 'swarm_state', 'swarm_role', 'swarm_cluster_id']) {
      await db.schema.alterTable('hosts').addColumn(name, 'text').execute();
    }
    await db.schema.createIndex('hosts_swarm_cluster').on('hosts').column('swarm_cluster_id').execute();
  },
});

// Stack deployments (SPEC W5).
const stackDeployments = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('stack_deployments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('stack', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('strategy', 'text', (c) => c.notNull())
      .addColumn('compose', 'text', (c) => c.notNull())
      .addColumn('env', 'text', (c) => c.notNull())
      .addColumn('files', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('redeploy_of', 'text')
      .addColumn('started_by', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('duration_ms', 'integer')
      .addColumn('outcome', 'text')
      .addColumn('error', 'text')
      .addColumn('warnings', 'text')
      .execute();
    await db.schema.createIndex('stack_deployments_stack').on('stack_deployments').columns(['cluster_id', 'stack', 'started_at']).execute();
  },
});

// Image updates (SPEC S15, S6): registries with sealed credentials, notification
// targets, the last check per container, and every update run.
const updates = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('registries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host', 'text', (c) => c.notNull().unique())
      .addColumn('username', 'text')
      .addColumn('password_sealed', 'text')
      .addColumn('insecure', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('skip_tls_verify', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('concurrency', 'integer', (c) => c.notNull().defaultTo(4))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('notification_targets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('url_sealed', 'text', (c) => c.notNull())
      .addColumn('secret_sealed', 'text')
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('update_checks')
      .addColumn('host_id', 'text', (c) => c.notNull())
      .addColumn('container_id', 'text', (c) => c.notNull())
      .addColumn('container_name', 'text', (c) => c.notNull())
      .addColumn('image_ref', 'text', (c) => c.notNull())
      .addColumn('current_digest', 'text')
      .addColumn('available_digest', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('policy', 'text', (c) => c.notNull())
      .addColumn('policy_source', 'text', (c) => c.notNull())
      .addColumn('warning', 'text')
      .addColumn('error', 'text')
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('update_checks_pk', ['host_id', 'container_id'])
      .execute();
    await db.schema.createTable('update_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host_id', 'text', (c) => c.notNull())
      .addColumn('container_name', 'text', (c) => c.notNull())
      .addColumn('old_container_id', 'text', (c) => c.notNull())
      .addColumn('new_container_id', 'text')
      .addColumn('image_ref', 'text', (c) => c.notNull())
      .addColumn('from_digest', 'text')
      .addColumn('to_digest', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('started_by', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('duration_ms', 'integer')
      .addColumn('reason', 'text')
      .addColumn('steps', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('update_runs_host').on('update_runs').columns(['host_id', 'started_at']).execute();
  },
});

// Disk usage per host (SPEC S10): the last GET /system/df summary as JSON, null until first measured.
const hostDisk = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('hosts').addColumn('disk_usage', 'text').execute();
  },
});

// The replicas' event bus (issue 13): a message too big for NOTIFY's payload is stored
// here and only its id notified; security events are stored too, so a replica whose
// listening connection dropped catches up. Pruned after minutes by every replica.
const replicaBus = (dialect: DialectName): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('bus_messages')
      .addColumn('id', 'integer', serialKey(dialect))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('bus_messages_created').on('bus_messages').column('created_at').execute();
  },
});

export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': initial(dialect), '0002_agents': agents(), '0003_journal_seq': journalSeq(), '0004_user_certs': userCerts(), '0005_swarm': swarm(dialect), '0006_stack_deployments': stackDeployments(), '0007_updates': updates(), '0008_host_disk': hostDisk(), '0009_replica_bus': replicaBus(dialect), '0010_replicas': replicasMigration() };
    },
  };
}
