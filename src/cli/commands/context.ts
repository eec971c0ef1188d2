// `flotilla context …`: the fleet as a docker context (SPEC S13). `create` makes a
// P-256 key here (it never leaves this machine), has the server sign its CSR, writes
// the bundle (ca.pem, cert.pem, key.pem 0600, in a 0700 directory) and prints the
// `docker context create` line; `rm` revokes the certificate and deletes the bundle.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { ApiError, apiPath, type ApiClient } from '../client/api-client.ts';
import { emit, printJson, print, renderTable } from '../client/output.ts';
import { clientCertSchema, createdClientCertSchema, type CreatedClientCert } from '../../api/routes/client-certs.ts';
import { generateAgentKeyAndCsr } from '../../cluster/csr.ts';
import { serialOf } from '../../cluster/ca.ts';
import { writeFileAtomic } from '../../cluster/pki/files.ts';
import { clientCommand, commandGroup, connect, type ClientFlags } from './common.ts';

// Docker's own rule for context names (and so for our directory names: no "/" or "..").
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;
const META_FILE = 'context.json';

const bundleMetaSchema = z.object({
  name: z.string(), serial: z.string(), server: z.string(), dockerHost: z.string(), notAfter: z.string(), createdAt: z.string(),
});
type BundleMeta = z.infer<typeof bundleMetaSchema>;

interface Bundle {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

/** ~/.flotilla/contexts/NAME unless --dir says otherwise. */
export function bundleDirOf(name: string, dir?: string): string {
  return path.resolve(dir ?? path.join(os.homedir(), '.flotilla', 'contexts', name));
}

function bundleFiles(dir: string): Bundle {
  return { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

function parseContextName(value: string): string {
  if (!CONTEXT_NAME.test(value)) throw new InvalidArgumentError('a context name is 2 or more of a-z A-Z 0-9 _ . + - and starts with a letter or digit');
  if (value === 'default') throw new InvalidArgumentError('"default" is the docker CLI\'s own context; choose another name');
  return value;
}

function parseDockerHost(value: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    // reported below
  }
  if (!u || u.protocol !== 'tcp:' || !u.hostname || !u.port || (u.pathname !== '' && u.pathname !== '/')) {
    throw new InvalidArgumentError(`expected tcp://HOST:PORT, got "${value}"`);
  }
  return `tcp://${u.host}`;
}

/** tcp://host:port from the server's answer; an IPv6 address in brackets. */
export function dockerHostOf(endpoint: CreatedClientCert['dockerEndpoint']): string {
  return `tcp://${net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

/** One field of docker's comma-separated --docker value (it is read as CSV). */
function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** Double quotes as people write it, single quotes when the shell would expand something. */
function shellQuote(value: string): string {
  if (!/["$`\\!]/.test(value)) return `"${value}"`;
  return `'${value.replaceAll("'", "'\\''")}'`;
}

export function dockerContextCommand(name: string, dockerHost: string, b: Bundle): string {
  const spec = [`host=${dockerHost}`, `ca=${b.ca}`, `cert=${b.cert}`, `key=${b.key}`].map(csvField).join(',');
  return `docker context create ${name} --docker ${shellQuote(spec)}`;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

async function writeBundle(b: Bundle, files: { caPem: string; certPem: string; keyPem: string; meta: BundleMeta }): Promise<void> {
  await fs.mkdir(b.dir, { recursive: true, mode: 0o700 });
  await fs.chmod(b.dir, 0o700); // it holds a private key, whatever the umask or an existing --dir said
  await writeFileAtomic(b.key, files.keyPem, 0o600);
  await writeFileAtomic(b.cert, files.certPem, 0o644);
  await writeFileAtomic(b.ca, files.caPem, 0o644);
  await writeFileAtomic(path.join(b.dir, META_FILE), JSON.stringify(files.meta, null, 2) + '\n', 0o644);
}

async function readMeta(dir: string): Promise<BundleMeta | undefined> {
  try {
    return bundleMetaSchema.parse(JSON.parse(await fs.readFile(path.join(dir, META_FILE), 'utf8')));
  } catch {
    return undefined; // no bundle, or one made by hand: the certificate itself still says its serial
  }
}

type CreateFlags = ClientFlags & { dir?: string; dockerHost?: string };

async function createContext(name: string, flags: CreateFlags): Promise<void> {
  const b = bundleFiles(bundleDirOf(name, flags.dir));
  if ((await exists(b.key)) || (await exists(b.cert))) {
    throw new Error(`${b.dir} already holds a bundle: remove it first with "flotilla context rm ${name}${flags.dir ? ` --dir ${flags.dir}` : ''}"`);
  }
  const client = await connect(flags);
  // The CSR's subject only documents the request (the server writes its own); 64 is the CN limit.
  const { keyPem, csrPem } = await generateAgentKeyAndCsr(name.slice(0, 64));
  const created = await client.request('POST', '/client-certs', { body: { csrPem, name }, schema: createdClientCertSchema });
  const dockerHost = flags.dockerHost ?? dockerHostOf(created.dockerEndpoint);
  const meta: BundleMeta = { name, serial: created.serial, server: client.baseUrl, dockerHost, notAfter: created.notAfter, createdAt: new Date().toISOString() };
  try {
    await writeBundle(b, { caPem: created.caPem, certPem: created.certPem, keyPem, meta });
  } catch (err) {
    // A certificate whose key is lost is of no use to anyone: take it back.
    await client.request('DELETE', apiPath`/client-certs/${created.serial}`).catch(() => undefined);
    throw err;
  }
  const command = dockerContextCommand(name, dockerHost, b);
  const use = `docker --context ${name} ps`;
  if (flags.json) {
    printJson({ name, dir: b.dir, files: { ca: b.ca, cert: b.cert, key: b.key }, dockerHost, serial: created.serial, notAfter: created.notAfter, command, use });
    return;
  }
  print([
    `Client certificate ${created.serial} for context "${name}" (valid until ${created.notAfter}), written to ${b.dir}.`,
    'Create the docker context and use it:',
    '',
    `  ${command}`,
    `  ${use}`,
  ].join('\n'));
}

/** The serial to revoke: the bundle's, else my one live certificate of that name. */
async function serialToRevoke(client: ApiClient, name: string, dir: string): Promise<string> {
  const meta = await readMeta(dir);
  if (meta) return meta.serial;
  const certFile = bundleFiles(dir).cert;
  if (await exists(certFile)) return serialOf(await fs.readFile(certFile, 'utf8'));
  const mine = (await client.request('GET', '/client-certs', { schema: z.array(clientCertSchema) })).filter((c) => c.name === name && !c.revokedAt);
  if (mine.length === 1) return mine[0]!.serial;
  if (mine.length === 0) throw new Error(`no bundle at ${dir} and no live certificate named "${name}" (see flotilla context ls)`);
  throw new Error(`no bundle at ${dir} and ${mine.length} live certificates named "${name}" (${mine.map((c) => c.serial).join(', ')}): give --serial`);
}

async function removeContext(name: string, flags: ClientFlags & { dir?: string; serial?: string }): Promise<void> {
  const dir = bundleDirOf(name, flags.dir);
  const client = await connect(flags);
  const serial = flags.serial ?? (await serialToRevoke(client, name, dir));
  let revoked = true;
  try {
    await client.request('DELETE', apiPath`/client-certs/${serial}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    revoked = false; // not this server's (or already gone with its user): the local copy still goes
    process.stderr.write(`flotilla: the server does not know certificate ${serial}; removing the local bundle anyway\n`);
  }
  const hadBundle = await exists(dir);
  await fs.rm(dir, { recursive: true, force: true });
  emit(flags.json, { name, serial, revoked, removed: hadBundle ? dir : null }, () => [
    `${revoked ? 'revoked' : 'did not revoke'} certificate ${serial}${hadBundle ? `; removed ${dir}` : ''}.`,
    `Remove the docker context too: docker context rm ${name}`,
  ].join('\n'));
}

async function listContexts(flags: ClientFlags & { all?: boolean }): Promise<void> {
  const certs = await (await connect(flags)).request('GET', '/client-certs', { query: { all: flags.all ? '1' : undefined }, schema: z.array(clientCertSchema) });
  const now = new Date().toISOString();
  const rows = await Promise.all(certs.map(async (c) => {
    const dir = bundleDirOf(c.name);
    const bundle = (await readMeta(dir))?.serial === c.serial ? dir : null;
    const status = c.revokedAt ? 'revoked' : c.notAfter <= now ? 'expired' : 'active';
    return { ...c, status, bundle };
  }));
  emit(flags.json, rows, () => renderTable(
    flags.all ? ['NAME', 'USER', 'SERIAL', 'STATUS', 'EXPIRES', 'BUNDLE'] : ['NAME', 'SERIAL', 'STATUS', 'EXPIRES', 'BUNDLE'],
    rows.map((r) => [r.name, ...(flags.all ? [r.username] : []), r.serial, r.status, r.notAfter, r.bundle]),
  ));
}

export function registerContextCommands(program: Command): void {
  const context = commandGroup(program, 'context', 'client certificates that make the fleet a docker context');

  clientCommand(context, 'create', 'get a client certificate and write a docker context bundle (ca.pem, cert.pem, key.pem)')
    .argument('<name>', 'the docker context name', parseContextName)
    .option('--dir <dir>', 'where to write the bundle (default: ~/.flotilla/contexts/NAME); made 0700')
    .option('--docker-host <url>', 'the address docker dials, tcp://HOST:PORT (default: what the server advertises)', parseDockerHost)
    .action(createContext);

  clientCommand(context, 'ls', 'list your client certificates and their local bundles')
    .option('--all', 'everyone\'s certificates (admins)')
    .action(listContexts);

  clientCommand(context, 'rm', 'revoke a context\'s client certificate and delete its bundle')
    .argument('<name>', 'the context name', parseContextName)
    .option('--dir <dir>', 'the bundle directory (default: ~/.flotilla/contexts/NAME)')
    .option('--serial <hex>', 'revoke this certificate (when there is no bundle to read it from)')
    .action(removeContext);
}
