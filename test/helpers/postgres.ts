// A throw-away PostgreSQL for tests: Debian's binaries (/usr/lib/postgresql/*/bin)
// run on their own data directory in a temporary folder, reachable only through a
// unix socket there (no TCP), stopped and removed at the end. As root the server
// runs as the `postgres` OS user (initdb refuses root).
//
// Without the binaries a test skips with a message — unless FLOTILLA_REQUIRE_LAB=1
// (CI), where it fails: a missing PostgreSQL must not pass as a green run.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import net from 'node:net';

/** The newest installed PostgreSQL's bin directory, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  return versions
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')));
}

/**
 * For `describe(…, { skip: postgresSkip() })`: a reason to skip when PostgreSQL
 * is not installed, false when it is. Throws instead of skipping when
 * FLOTILLA_REQUIRE_LAB=1.
 */
export function postgresSkip(): string | false {
  if (postgresBinDir()) return false;
  const why = 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; sudo bash scripts/install-test-deps.sh postgresql)';
  if (process.env.FLOTILLA_REQUIRE_LAB === '1') throw new Error(`${why}, and FLOTILLA_REQUIRE_LAB=1 requires it`);
  return why;
}

export interface TestPostgres {
  /** The folder with the socket (the URL's ?host=). */
  socketDir: string;
  port: number;
  /** postgres:// URL of a database on this server, over the socket. */
  url(database: string): string;
  /** Creates an empty database (a fresh name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (immediately) and removes its folder. */
  stop(): Promise<void>;
}

/** A port number nobody uses: the socket file's name (.s.PGSQL.<port>); there is no TCP listener. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** As root: the postgres OS user that Debian's package creates. */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no postgres OS user to run PostgreSQL as (is the postgresql package installed?)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(bin: string, args: string[], as: RunAs | undefined): void {
  const res = spawnSync(bin, args, { encoding: 'utf8', ...(as ? { uid: as.uid, gid: as.gid } : {}), env: { ...process.env, LC_ALL: 'C' } });
  if (res.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${res.status ?? res.signal}): ${res.stderr || res.stdout || res.error?.message}`);
}

export interface StartOptions {
  /** Stop it when this process exits (default). False: for scripts/test.sh, which stops it with stopPostgresIn(dir). */
  stopOnExit?: boolean;
  maxConnections?: number;
}

export async function startPostgres(opts: StartOptions = {}): Promise<TestPostgres & { dir: string }> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresSkip() || 'PostgreSQL binaries not found');
  const as = postgresUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-pg-'));
  const data = path.join(dir, 'data');
  const socketDir = path.join(dir, 'sock');
  fs.mkdirSync(socketDir);
  if (as) execFileSync('chown', ['-R', `${as.uid}:${as.gid}`, dir]);
  // C locale: text sorts by code point, as SQLite's BINARY collation does.
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], as);
  const port = await freePort();
  // Durability does not matter for a test database; speed does.
  fs.appendFileSync(path.join(data, 'postgresql.conf'), `fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = ${opts.maxConnections ?? 200}\n`);
  const pgCtl = path.join(bin, 'pg_ctl');
  run(pgCtl, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', `-k ${socketDir} -p ${port} -c listen_addresses=''`, 'start'], as);

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    stopPostgresIn(dir);
  };
  // A test run that dies before stop() must not leave a server behind.
  if (opts.stopOnExit !== false) process.once('exit', stopNow);

  const url = (database: string) => `postgres://postgres@/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}&port=${port}`;
  return {
    dir,
    socketDir,
    port,
    url,
    async createDatabase(name = `t_${crypto.randomBytes(6).toString('hex')}`) {
      return createDatabaseAt(url('postgres'), name);
    },
    async stop() {
      process.off('exit', stopNow);
      stopNow();
    },
  };
}

/** Stops the server started in `dir` by startPostgres (immediately) and removes the folder. */
export function stopPostgresIn(dir: string): void {
  const bin = postgresBinDir();
  const data = path.join(dir, 'data');
  if (bin && fs.existsSync(path.join(data, 'postmaster.pid'))) {
    const as = postgresUser();
    spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...(as ? { uid: as.uid, gid: as.gid } : {}), stdio: 'ignore' });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** `url` with its database replaced (keeping ?host= and the rest). */
function withDatabase(url: string, database: string): string {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]*)(\/[^?#]*)?(.*)$/.exec(url);
  if (!m) throw new Error('not a postgres:// URL');
  return `${m[1]}/${encodeURIComponent(database)}${m[3]}`;
}

async function createDatabaseAt(adminUrl: string, name: string, ifMissing = false): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = ifMissing && (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount;
    if (!exists) await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    // Two servers of one data directory starting at once: the other created it.
    if (!(ifMissing && (err as { code?: string }).code === '42P04')) throw err;
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}

let ownServer: Promise<TestPostgres> | undefined;

/**
 * FLOTILLA_TEST_DATABASE=postgres (scripts/test.sh): the environment that puts a
 * test server's store on PostgreSQL — one database per data directory, so a
 * server restarted on the same directory finds its data again. On the server
 * scripts/test.sh started (FLOTILLA_TEST_POSTGRES_URL), else on one this
 * process starts. Empty otherwise, or when the test chose a database itself.
 */
export async function testDatabaseEnv(env: Record<string, string | undefined>): Promise<Record<string, string>> {
  if (process.env.FLOTILLA_TEST_DATABASE !== 'postgres' || env.FLOTILLA_DATABASE_URL || !env.FLOTILLA_DATA_DIR) return {};
  let adminUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
  if (!adminUrl) {
    ownServer ??= startPostgres();
    adminUrl = (await ownServer).url('postgres');
  }
  const name = `d_${crypto.createHash('sha256').update(path.resolve(env.FLOTILLA_DATA_DIR)).digest('hex').slice(0, 24)}`;
  // On PostgreSQL a server is a replica: its replica endpoint on a free port, as its other endpoints in tests.
  return { FLOTILLA_DATABASE_URL: await createDatabaseAt(adminUrl, name, true), FLOTILLA_REPLICA_PORT: env.FLOTILLA_REPLICA_PORT ?? '0' };
}
