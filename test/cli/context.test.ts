// `flotilla context …` against a real server: the bundle on disk, the printed
// `docker context create` line, and that line run by the real docker CLI (28.x)
// against the server's fleet endpoint with a lab engine behind it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { labState } from '../lab/fixture.ts';
import { collect, ok, parseJson, startTestServer, type CliResult, type TestServer } from './helpers.ts';

let ts: TestServer;
let home: string;

before(async () => {
  ts = await startTestServer({ admin: true });
  home = path.join(ts.dir, 'home');
  fs.mkdirSync(home);
});
after(async () => {
  await ts.close();
});

const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const cli = (args: string[]) => ts.cli(args, { env: { HOME: home } });

interface Created { name: string; dir: string; files: { ca: string; cert: string; key: string }; dockerHost: string; serial: string; notAfter: string; command: string; use: string }
interface Listed { name: string; serial: string; status: string; bundle: string | null; revokedAt: string | null }

/** The docker CLI with its own HOME and config directory: contexts land there, not in the caller's. */
function docker(args: string[], shellLine?: string): Promise<CliResult> {
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, DOCKER_CONFIG: path.join(home, '.docker') };
  const child = shellLine ? spawn('bash', ['-c', shellLine], { env, stdio: ['pipe', 'pipe', 'pipe'] }) : spawn('/usr/local/bin/docker', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, { timeoutMs: 60_000 });
}

test('context create writes ca.pem, cert.pem, key.pem (0600) in a 0700 directory and prints the docker context line', async () => {
  const r = ok(await cli(['context', 'create', 'fleet-a']));
  const dir = path.join(home, '.flotilla', 'contexts', 'fleet-a');
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(path.join(dir, 'key.pem')), 0o600);
  assert.match(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), ts.server.cluster!.ca.certPem);
  const verify = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'cert.pem')], { encoding: 'utf8' });
  assert.match(verify, /: OK/);
  const port = ts.server.docker!.port;
  const line = `docker context create fleet-a --docker "host=tcp://127.0.0.1:${port},ca=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem"`;
  assert.ok(r.stdout.split('\n').map((l) => l.trim()).includes(line), r.stdout);
  assert.ok(r.stdout.includes('docker --context fleet-a ps'), r.stdout);

  const again = await cli(['context', 'create', 'fleet-a']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a bundle: remove it first with "flotilla context rm fleet-a"/);
});

test('context create --json --dir --docker-host; ls shows it; rm revokes it and deletes the bundle', async () => {
  const dir = path.join(ts.dir, 'bundles', 'b');
  const c = parseJson<Created>(ok(await cli(['context', 'create', 'fleet-b', '--dir', dir, '--docker-host', 'tcp://fleet.example.com:2376', '--json'])));
  assert.equal(c.dir, dir);
  assert.deepEqual(c.files, { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') });
  assert.equal(c.dockerHost, 'tcp://fleet.example.com:2376');
  assert.equal(c.command, `docker context create fleet-b --docker "host=tcp://fleet.example.com:2376,ca=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem"`);
  assert.equal(c.use, 'docker --context fleet-b ps');
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(c.files.key), 0o600);

  const listed = parseJson<Listed[]>(ok(await cli(['context', 'ls', '--json'])));
  const entry = listed.find((l) => l.serial === c.serial);
  assert.equal(entry?.name, 'fleet-b');
  assert.equal(entry?.status, 'active');
  assert.equal(entry?.bundle, null, 'a --dir bundle is not where ls looks by default');
  const table = ok(await cli(['context', 'ls'])).stdout;
  assert.match(table, /^NAME\s+SERIAL\s+STATUS\s+EXPIRES\s+BUNDLE\n/);
  assert.ok(table.includes(path.join(home, '.flotilla', 'contexts', 'fleet-a')), table);

  const rm = ok(await cli(['context', 'rm', 'fleet-b', '--dir', dir]));
  assert.match(rm.stdout, new RegExp(`revoked certificate ${c.serial}; removed ${dir}`));
  assert.match(rm.stdout, /docker context rm fleet-b/);
  assert.equal(fs.existsSync(dir), false);
  const after = parseJson<Listed[]>(ok(await cli(['context', 'ls', '--json']))).find((l) => l.serial === c.serial);
  assert.equal(after?.status, 'revoked');
  assert.ok(await ts.server.store.userCerts.revokedAt(c.serial));
});

test('a context name docker would refuse, or a docker host that is not tcp://HOST:PORT, is a usage error', async () => {
  for (const bad of [['../x'], ['default'], ['a'], ['ok-name', '--docker-host', 'https://x:1'], ['ok-name', '--docker-host', 'tcp://x']]) {
    const r = await cli(['context', 'create', ...bad]);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
  }
});

test('the printed line works with the real docker CLI: docker --context NAME version, ps; after rm it is refused', async () => {
  const lab = await labState();
  await ts.server.fleet.addHost({ name: 'ctx-n1', endpoint: lab.nodes[0]!.unix, environment: 'development', syncIntervalSeconds: 30 });
  const c = parseJson<Created>(ok(await cli(['context', 'create', 'fleet-e2e', '--json'])));
  const created = await docker([], c.command);
  assert.equal(created.code, 0, created.stderr);
  const version = await docker(['--context', 'fleet-e2e', 'version', '--format', '{{json .Server}}']);
  assert.equal(version.code, 0, `docker version through the context failed: ${version.stderr}`);
  assert.match(JSON.parse(version.stdout).Platform.Name, /^Flotilla .*\(\d+ hosts\)/);
  const ps = await docker(['--context', 'fleet-e2e', 'ps', '-a', '--format', '{{.Names}}']);
  assert.equal(ps.code, 0, ps.stderr);

  ok(await cli(['context', 'rm', 'fleet-e2e']));
  const refused = await docker(['--context', 'fleet-e2e', 'version']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`client certificate ${c.serial} has been revoked`));
  ok(await docker(['context', 'rm', 'fleet-e2e']));
});
