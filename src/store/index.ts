// The store: one object holding every repository, opened once at start-up.
import path from 'node:path';
import { openPostgresStore, openSqliteStore, type Db, type PostgresStoreOptions } from './db.ts';
import { UsersRepo } from './users-repo.ts';
import { HostsRepo } from './hosts-repo.ts';
import { InventoryRepo } from './inventory-repo.ts';
import { AuditRepo } from './audit-repo.ts';
import { EventsRepo } from './events-repo.ts';
import { SecretBox } from './secret-box.ts';
import { EnrollTokensRepo, RevocationsRepo } from './enroll-tokens-repo.ts';
import { UserCertsRepo } from './user-certs-repo.ts';
import { AccessEvents } from './access-events.ts';
import { SwarmRepo } from './swarm-repo.ts';
import { DeploymentsRepo } from './deployments-repo.ts';
import { RegistriesRepo } from './registries-repo.ts';
import { NotificationTargetsRepo } from './notifications-repo.ts';
import { UpdatesRepo } from './updates-repo.ts';

export interface Store {
  db: Db;
  users: UsersRepo;
  hosts: HostsRepo;
  inventory: InventoryRepo;
  audit: AuditRepo;
  events: EventsRepo;
  enrollTokens: EnrollTokensRepo;
  revocations: RevocationsRepo;
  userCerts: UserCertsRepo;
  swarm: SwarmRepo;
  deployments: DeploymentsRepo;
  registries: RegistriesRepo;
  notifications: NotificationTargetsRepo;
  updates: UpdatesRepo;
  secrets: SecretBox;
  /** Revocations, deletions and role changes as they are stored, for holders of open connections. */
  access: AccessEvents;
  close(): Promise<void>;
}

/** Where the store lives: PostgreSQL when `databaseUrl` is set (FLOTILLA_DATABASE_URL), else `flotilla.db` in `dataDir`. */
export interface StoreConfig {
  dataDir: string;
  databaseUrl?: string | undefined;
}

/** `dataDir` alone (a string) is SQLite there. The secret key stays in `dataDir` on either database. */
export async function openStore(config: string | StoreConfig, opts: PostgresStoreOptions = {}): Promise<Store> {
  const { dataDir, databaseUrl } = typeof config === 'string' ? { dataDir: config, databaseUrl: undefined } : config;
  const db = databaseUrl ? await openPostgresStore(databaseUrl, opts) : await openSqliteStore(path.join(dataDir, 'flotilla.db'));
  const audit = new AuditRepo(db);
  const access = new AccessEvents();
  const secrets = SecretBox.openOrCreate(path.join(dataDir, 'secret.key'));
  return {
    db,
    users: new UsersRepo(db, access),
    hosts: new HostsRepo(db),
    inventory: new InventoryRepo(db),
    audit,
    events: new EventsRepo(db),
    enrollTokens: new EnrollTokensRepo(db),
    revocations: new RevocationsRepo(db, access),
    userCerts: new UserCertsRepo(db),
    swarm: new SwarmRepo(db),
    deployments: new DeploymentsRepo(db),
    registries: new RegistriesRepo(db, secrets),
    notifications: new NotificationTargetsRepo(db, secrets),
    updates: new UpdatesRepo(db),
    secrets,
    access,
    close: async () => {
      await audit.flush();
      await db.destroy();
    },
  };
}
