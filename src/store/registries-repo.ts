// Registries Flotilla checks for image updates (SPEC S15) and their credentials.
// The password is sealed with the SecretBox; views never carry it, only access()
// opens it, for the registry client.
import crypto from 'node:crypto';
import type { Selectable, Updateable } from 'kysely';
import { z } from 'zod';
import { BadRequest, Conflict, NotFound } from '../errors.ts';
import type { RegistryAccess } from '../updates/registry/http.ts';
import { DOCKER_HUB, isRegistryHost } from '../updates/registry/reference.ts';
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { RegistriesTable } from './schema.ts';
import type { SecretBox } from './secret-box.ts';

export type RegistryRow = Selectable<RegistriesTable>;

export const registryViewSchema = z.object({
  id: z.string(), host: z.string(), username: z.string().nullable(), hasPassword: z.boolean(),
  insecure: z.boolean(), skipTlsVerify: z.boolean(), concurrency: z.number(),
  createdAt: z.string(), updatedAt: z.string(),
});
export type RegistryView = z.infer<typeof registryViewSchema>;

export interface NewRegistry {
  host: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  skipTlsVerify?: boolean;
  concurrency?: number;
}

/** `null` clears a credential; absent fields stay as they are. */
export interface RegistryPatch {
  host?: string;
  username?: string | null;
  password?: string | null;
  insecure?: boolean;
  skipTlsVerify?: boolean;
  concurrency?: number;
}

export const DEFAULT_REGISTRY_CONCURRENCY = 4;
const MAX_CONCURRENCY = 64;

export class RegistriesRepo {
  private readonly db: Db;
  private readonly secrets: SecretBox;

  constructor(db: Db, secrets: SecretBox) {
    this.db = db;
    this.secrets = secrets;
  }

  async add(input: NewRegistry): Promise<RegistryView> {
    const host = normaliseRegistryHost(input.host);
    checkCredentials(input.username, input.password);
    const at = nowIso();
    const row: RegistriesTable = {
      id: crypto.randomUUID(),
      host,
      username: input.username ?? null,
      password_sealed: input.password !== undefined ? this.secrets.seal(input.password) : null,
      insecure: input.insecure ? 1 : 0,
      skip_tls_verify: input.skipTlsVerify ? 1 : 0,
      concurrency: checkConcurrency(input.concurrency ?? DEFAULT_REGISTRY_CONCURRENCY),
      created_at: at,
      updated_at: at,
    };
    // Serializable: of two adds of one host at once, the second sees the first and gets the Conflict.
    await serializableTransaction(this.db, async (tx) => {
      const taken = await tx.selectFrom('registries').select('id').where('host', '=', host).executeTakeFirst();
      if (taken) throw new Conflict(`registry ${host} is already registered`);
      await tx.insertInto('registries').values(row).execute();
    });
    return toRegistryView(row);
  }

  async list(): Promise<RegistryView[]> {
    const rows = await this.db.selectFrom('registries').selectAll().orderBy('host').execute();
    return rows.map(toRegistryView);
  }

  /** By id or host; NotFound when neither matches. */
  async get(idOrHost: string): Promise<RegistryView> {
    return toRegistryView(await this.row(idOrHost));
  }

  async update(idOrHost: string, patch: RegistryPatch): Promise<RegistryView> {
    return serializableTransaction(this.db, async (tx) => {
      const cur = await findRow(tx, idOrHost);
      if (!cur) throw notFound(idOrHost);
      const set: Updateable<RegistriesTable> = { updated_at: nowIso() };
      if (patch.host !== undefined) {
        const host = normaliseRegistryHost(patch.host);
        const taken = await tx.selectFrom('registries').select('id').where('host', '=', host).where('id', '!=', cur.id).executeTakeFirst();
        if (taken) throw new Conflict(`registry ${host} is already registered`);
        set.host = host;
      }
      const username = patch.username === undefined ? cur.username ?? undefined : patch.username ?? undefined;
      const hasPassword = patch.password === undefined ? cur.password_sealed !== null : patch.password !== null;
      checkCredentials(username, hasPassword ? '' : undefined);
      if (patch.username !== undefined) set.username = patch.username;
      if (patch.password !== undefined) set.password_sealed = patch.password === null ? null : this.secrets.seal(patch.password);
      if (patch.insecure !== undefined) set.insecure = patch.insecure ? 1 : 0;
      if (patch.skipTlsVerify !== undefined) set.skip_tls_verify = patch.skipTlsVerify ? 1 : 0;
      if (patch.concurrency !== undefined) set.concurrency = checkConcurrency(patch.concurrency);
      await tx.updateTable('registries').set(set).where('id', '=', cur.id).execute();
      return toRegistryView({ ...cur, ...set } as RegistryRow);
    });
  }

  async remove(idOrHost: string): Promise<void> {
    const row = await this.row(idOrHost);
    await this.db.deleteFrom('registries').where('id', '=', row.id).execute();
  }

  /** What the registry client needs for `host` (password opened); undefined for a registry not registered. */
  async access(host: string): Promise<RegistryAccess | undefined> {
    const row = await this.db.selectFrom('registries').selectAll().where('host', '=', host.toLowerCase()).executeTakeFirst();
    if (!row) return undefined;
    return {
      host: row.host,
      ...(row.username !== null ? { username: row.username } : {}),
      ...(row.password_sealed !== null ? { password: this.secrets.open(row.password_sealed) } : {}),
      insecure: row.insecure === 1,
      skipTlsVerify: row.skip_tls_verify === 1,
      concurrency: row.concurrency,
    };
  }

  private async row(idOrHost: string): Promise<RegistryRow> {
    const row = await findRow(this.db, idOrHost);
    if (!row) throw notFound(idOrHost);
    return row;
  }
}

function findRow(db: Db, idOrHost: string): Promise<RegistryRow | undefined> {
  return db.selectFrom('registries').selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrHost), eb('host', '=', idOrHost.toLowerCase())])).executeTakeFirst();
}

function notFound(idOrHost: string): NotFound {
  return new NotFound(`registry ${idOrHost} is not registered`);
}

export function toRegistryView(r: RegistryRow): RegistryView {
  return {
    id: r.id, host: r.host, username: r.username, hasPassword: r.password_sealed !== null,
    insecure: r.insecure === 1, skipTlsVerify: r.skip_tls_verify === 1, concurrency: r.concurrency,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** `host[:port]` as image references write it, lower-case; Docker Hub's other names become docker.io. */
export function normaliseRegistryHost(input: string): string {
  const host = input.trim().toLowerCase();
  if (host.includes('://')) throw new BadRequest(`registry "${input}": give host[:port] without a scheme (plain HTTP is the "insecure" option)`, 'host');
  if (!isRegistryHost(host)) throw new BadRequest(`registry "${input}" is not a host[:port]`, 'host');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

function checkCredentials(username: string | undefined, password: string | undefined): void {
  if (username !== undefined && username.trim() === '') throw new BadRequest('registry username is empty', 'username');
  if (username !== undefined && username.includes(':')) throw new BadRequest('registry username must not contain ":"', 'username');
  if ((username === undefined) !== (password === undefined)) {
    throw new BadRequest('registry credentials need both a username and a password', username === undefined ? 'username' : 'password');
  }
}

function checkConcurrency(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new BadRequest(`registry concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`, 'concurrency');
  return n;
}
