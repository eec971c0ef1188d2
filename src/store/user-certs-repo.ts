// Client certificates issued to users (SPEC S13): who holds which serial, its
// label and expiry. Revocation is the shared list in revoked_certs (RevocationsRepo).
import type { Selectable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso } from './db.ts';
import type { UserCertsTable } from './schema.ts';

export type UserCertRow = Selectable<UserCertsTable>;

/** A row as lists show it: with the holder's name and, once revoked, when. */
export interface UserCertView extends UserCertRow {
  username: string;
  revoked_at: string | null;
}

export class UserCertsRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** `serial` in the normalized form (lowercase hex, no leading zeros) the CA returns. */
  async add(c: Omit<UserCertRow, 'created_at'>): Promise<UserCertRow> {
    const row: UserCertRow = { ...c, created_at: nowIso() };
    await this.db.insertInto('user_certs').values(row).execute();
    return row;
  }

  private view() {
    return this.db.selectFrom('user_certs')
      .innerJoin('users', 'users.id', 'user_certs.user_id')
      .leftJoin('revoked_certs', 'revoked_certs.serial', 'user_certs.serial')
      .selectAll('user_certs').select(['users.username', 'revoked_certs.revoked_at']);
  }

  /** Newest first; one user's when `userId` is given, else everyone's. */
  async list(userId?: string): Promise<UserCertView[]> {
    let q = this.view().orderBy('user_certs.created_at', 'desc');
    if (userId !== undefined) q = q.where('user_certs.user_id', '=', userId);
    return q.execute();
  }

  async find(serial: string): Promise<UserCertView | undefined> {
    return this.view().where('user_certs.serial', '=', serial).executeTakeFirst();
  }

  /** When `serial` entered the revocation list, whatever certificate it belongs to. */
  async revokedAt(serial: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('revoked_certs').select('revoked_at').where('serial', '=', serial).executeTakeFirst();
    return row?.revoked_at;
  }
}
