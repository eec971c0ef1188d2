// Opens the store: Kysely over better-sqlite3 (WAL) or over PostgreSQL (pg), and
// runs pending migrations. The dialect is chosen here only; repositories never
// see which one is in use.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { Database } from './schema.ts';
import { migrationProvider, type DialectName } from './migrations.ts';

export type Db = Kysely<Database>;

/** PostgreSQL could not be reached (or refused us) at start-up; the message names the variable and host:port, never the password. */
export class DatabaseUnreachable extends Error {}

/** Where a postgres:// URL points, for messages: host:port (or the socket directory) and the database, without credentials. */
export function describePostgresUrl(url: string): string {
  let u: URL;
  try {
    // postgres://user@/db?host=/socket/dir has no host, which URL refuses.
    u = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=\/)/, '$1localhost'));
  } catch {
    return '(an unparsable URL)';
  }
  // node-postgres takes a unix socket directory from ?host=/path.
  const host = u.searchParams.get('host') ?? (u.hostname || 'localhost');
  const port = u.searchParams.get('port') ?? (u.port || '5432');
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return `${host}:${port}${database ? ` (database ${database})` : ''}`;
}

/**
 * Our bigint columns (memory_bytes, journal_seq) and count(*) come back from
 * PostgreSQL as int8, which pg hands over as strings; SQLite gives numbers.
 * Numbers here too — refusing, rather than rounding, one beyond 2^53.
 */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') {
      return (text: string) => {
        const n = Number(text);
        if (!Number.isSafeInteger(n)) throw new Error(`integer ${text} from PostgreSQL is beyond what JavaScript holds exactly`);
        return n;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresStoreOptions {
  /** Told of errors on idle pooled connections (the server restarted, the network dropped); the pool replaces them. */
  onConnectionError?: (err: Error) => void;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Db> {
  const where = describePostgresUrl(url);
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: opts.poolSize ?? 10, connectionTimeoutMillis: 10_000 });
  // Without a listener an idle connection's error would end the process.
  pool.on('error', (err) => (opts.onConnectionError ?? ((e) => process.stderr.write(`flotilla: PostgreSQL connection error at ${where}: ${e.message}\n`)))(err));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DatabaseUnreachable(`FLOTILLA_DATABASE_URL: cannot connect to PostgreSQL at ${where}: ${redactSecrets((err as Error).message, url)}`);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db, 'postgres');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** An error text with the URL's password (and the URL itself) taken out, should a driver ever echo them. */
function redactSecrets(text: string, url: string): string {
  let out = text.split(url).join('(FLOTILLA_DATABASE_URL)');
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join('***');
  } catch {
    // an unparsable URL has no password to find
  }
  return out;
}

/**
 * A transaction that reads and then writes what it read (a status change, the
 * first admin). SQLite runs one transaction at a time anyway; PostgreSQL runs
 * it serializable and, when a concurrent one wins, runs it again.
 */
export async function serializableTransaction<T>(db: Db, work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel('serializable').execute(work);
    } catch (err) {
      // 40001 serialization_failure, 40P01 deadlock_detected: the transaction did nothing; try again.
      const code = (err as { code?: unknown }).code;
      if ((code !== '40001' && code !== '40P01') || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}

export async function openSqliteStore(file: string): Promise<Db> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  if (file !== ':memory:') fs.chmodSync(file, 0o600);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db, 'sqlite');
  return db;
}

/**
 * Kysely prepares every query anew; with better-sqlite3 preparing costs more
 * than running a small query. Our queries are a fixed set of shapes, so keep
 * the prepared statements (bounded, in case a caller builds unusual SQL).
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') return Reflect.get(target, prop, receiver);
      return (sql: string) => {
        let stmt = cache.get(sql);
        if (!stmt) {
          stmt = target.prepare(sql);
          if (cache.size >= 500) cache.delete(cache.keys().next().value!);
          cache.set(sql, stmt);
        }
        return stmt;
      };
    },
  });
}

async function migrate(db: Db, dialect: DialectName): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}
