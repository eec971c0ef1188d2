// Users, browser sessions and API tokens. Session ids and tokens are stored
// only as SHA-256 digests: a copy of the database grants no access.
import crypto from 'node:crypto';
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { Role, UsersTable, ApiTokensTable } from './schema.ts';
import type { AccessEvents } from './access-events.ts';

export type User = Omit<UsersTable, 'password_hash'>;
export type ApiTokenInfo = Omit<ApiTokensTable, 'token_hash'>;
/** Who a valid API token belongs to, which token it is, and until when (ISO time; null: no expiry). */
export interface TokenHolder {
  user: User;
  tokenId: string;
  expiresAt: string | null;
}

export function sha256Hex(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

const publicUser = (u: UsersTable): User => ({ id: u.id, username: u.username, role: u.role, created_at: u.created_at, updated_at: u.updated_at });

export class UsersRepo {
  private readonly db: Db;
  private readonly access: AccessEvents;
  constructor(db: Db, access: AccessEvents) {
    this.db = db;
    this.access = access;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async create(username: string, passwordHash: string, role: Role): Promise<User> {
    const at = nowIso();
    const row: UsersTable = { id: crypto.randomUUID(), username, password_hash: passwordHash, role, created_at: at, updated_at: at };
    await this.db.insertInto('users').values(row).execute();
    return publicUser(row);
  }

  /** Creates the first admin only if no user exists yet, atomically. */
  async createFirstAdmin(username: string, passwordHash: string): Promise<User | undefined> {
    return serializableTransaction(this.db, async (tx) => {
      const existing = await tx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      if (existing) return undefined;
      const at = nowIso();
      const row: UsersTable = { id: crypto.randomUUID(), username, password_hash: passwordHash, role: 'admin', created_at: at, updated_at: at };
      await tx.insertInto('users').values(row).execute();
      return publicUser(row);
    });
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(publicUser);
  }

  async findWithHash(username: string): Promise<UsersTable | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async get(idOrName: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('username', '=', idOrName)])).executeTakeFirst();
    return row && publicUser(row);
  }

  async update(id: string, patch: { role?: Role; password_hash?: string }): Promise<void> {
    await this.db.updateTable('users').set({ ...patch, updated_at: nowIso() }).where('id', '=', id).execute();
    // A changed password or role ends existing browser sessions.
    await this.db.deleteFrom('sessions').where('user_id', '=', id).execute();
    if (patch.role) this.access.publish({ kind: 'role_changed', userId: id, role: patch.role });
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
    this.access.publish({ kind: 'user_removed', userId: id });
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.selectFrom('users').where('role', '=', 'admin').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // --- sessions ---
  async createSession(userId: string, ttlMs: number): Promise<string> {
    const sessionId = crypto.randomBytes(32).toString('hex');
    const now = Date.now();
    await this.db.insertInto('sessions').values({
      id_hash: sha256Hex(sessionId), user_id: userId, created_at: new Date(now).toISOString(), expires_at: new Date(now + ttlMs).toISOString(),
    }).execute();
    return sessionId;
  }

  async userForSession(sessionId: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users').select('sessions.expires_at')
      .where('sessions.id_hash', '=', sha256Hex(sessionId)).executeTakeFirst();
    if (!row || row.expires_at < nowIso()) return undefined;
    return publicUser(row);
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', sha256Hex(sessionId)).execute();
  }

  // --- API tokens ---
  async createToken(userId: string, name: string, ttlMs: number | undefined): Promise<{ token: string; info: ApiTokenInfo }> {
    const token = `flt_${crypto.randomBytes(32).toString('hex')}`;
    const info: ApiTokenInfo = {
      id: crypto.randomUUID(), user_id: userId, name, prefix: token.slice(0, 12), created_at: nowIso(),
      expires_at: ttlMs ? new Date(Date.now() + ttlMs).toISOString() : null, last_used_at: null,
    };
    await this.db.insertInto('api_tokens').values({ ...info, token_hash: sha256Hex(token) }).execute();
    return { token, info };
  }

  async userForToken(token: string): Promise<TokenHolder | undefined> {
    const row = await this.db.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('users').select(['api_tokens.id as token_id', 'api_tokens.expires_at as token_expires_at', 'api_tokens.last_used_at'])
      .where('api_tokens.token_hash', '=', sha256Hex(token)).executeTakeFirst();
    if (!row || (row.token_expires_at && row.token_expires_at < nowIso())) return undefined;
    // Record use at most once a minute: a busy script must not turn reads into writes.
    if (!row.last_used_at || Date.parse(row.last_used_at) < Date.now() - 60_000) {
      await this.db.updateTable('api_tokens').set({ last_used_at: nowIso() }).where('id', '=', row.token_id).execute();
    }
    return { user: publicUser(row), tokenId: row.token_id, expiresAt: row.token_expires_at };
  }

  async listTokens(userId: string): Promise<ApiTokenInfo[]> {
    return this.db.selectFrom('api_tokens')
      .select(['id', 'user_id', 'name', 'prefix', 'created_at', 'expires_at', 'last_used_at'])
      .where('user_id', '=', userId).orderBy('created_at').execute();
  }

  async deleteToken(userId: string, tokenId: string): Promise<boolean> {
    const res = await this.db.deleteFrom('api_tokens').where('id', '=', tokenId).where('user_id', '=', userId).executeTakeFirst();
    const deleted = Number(res.numDeletedRows) > 0;
    if (deleted) this.access.publish({ kind: 'token_revoked', tokenId, userId });
    return deleted;
  }
}
