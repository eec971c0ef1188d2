// `flotilla setup|login|logout` and how the CLI finds (or fails to find) its server, against a real server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, ok, parseJson, runCli, startTestServer, type TestServer } from './helpers.ts';

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ admin: true });
});
after(async () => {
  await ts.close();
});

test('setup creates the admin, signs in and saves url + token in a 0600 file in a 0700 directory', async (t) => {
  const fresh = await startTestServer();
  t.after(() => fresh.close());
  const r = ok(await fresh.cli(['setup', '--url', fresh.url, '--username', 'admin', '--code', fresh.server.setupCode!, '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` }));
  assert.match(r.stdout, /admin/);
  assert.equal(fs.statSync(fresh.configFile).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(fresh.configFile)).mode & 0o777, 0o700);
  const saved = JSON.parse(fs.readFileSync(fresh.configFile, 'utf8')) as { url: string; token: string };
  assert.equal(saved.url, fresh.url);
  assert.match(saved.token, /^flt_/);
  // The saved token works, and it is named after this machine.
  const tokens = parseJson<Array<{ name: string; prefix: string }>>(ok(await fresh.cli(['api-token', 'ls', '--json'])));
  assert.ok(tokens.some((tok) => tok.name.startsWith('cli@') && saved.token.startsWith(tok.prefix)));
});

test('a second setup is refused with the server\'s message and exit code 1', async () => {
  const r = await ts.cli(['setup', '--url', ts.url, '--username', 'other', '--code', 'whatever', '--password-stdin'], { input: 'another-password-1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flotilla: setup is already complete/m);
});

test('login with a wrong password fails with exit 1 and saves nothing', async () => {
  const config = path.join(ts.dir, 'wrong-login.json');
  const r = await runCli(['login', '--url', ts.url, '--username', 'admin', '--password-stdin'], { input: 'not-the-password', env: { FLOTILLA_CLI_CONFIG: config } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flotilla: username or password is wrong/m);
  assert.equal(fs.existsSync(config), false);
});

test('login takes the password from FLOTILLA_PASSWORD; logout revokes the token on the server and forgets it', async () => {
  const config = path.join(ts.dir, 'login-logout.json');
  const env = { FLOTILLA_CLI_CONFIG: config };
  ok(await runCli(['login', '--url', `${ts.url}/`, '--username', 'admin'], { env: { ...env, FLOTILLA_PASSWORD: ADMIN_PASSWORD } }));
  const { token } = JSON.parse(fs.readFileSync(config, 'utf8')) as { token: string };
  ok(await runCli(['host', 'ls'], { env }));

  const out = ok(await runCli(['logout', '--json'], { env }));
  assert.deepEqual(parseJson(out), { url: ts.url, revoked: true, forgotten: true });
  assert.equal((JSON.parse(fs.readFileSync(config, 'utf8')) as { token?: string }).token, undefined);
  // The token itself no longer works on the server.
  const r = await runCli(['host', 'ls'], { env: { ...env, FLOTILLA_URL: ts.url, FLOTILLA_TOKEN: token } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid or expired/);
  // And without it the CLI says how to sign in.
  const again = await runCli(['host', 'ls'], { env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not signed in to .*flotilla login --url/);
});

test('login with no password source and no terminal is an error that names the options', async () => {
  const r = await runCli(['login', '--url', ts.url, '--username', 'admin'], { env: { FLOTILLA_CLI_CONFIG: path.join(ts.dir, 'no-pw.json') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--password-stdin/);
  assert.match(r.stderr, /FLOTILLA_PASSWORD/);
});

test('with no URL anywhere the CLI says how to log in', async () => {
  const r = await runCli(['host', 'ls'], { env: { FLOTILLA_CLI_CONFIG: path.join(ts.dir, 'absent.json') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /flotilla login --url URL --username NAME/);
});

test('a saved token is not sent to a different server given with --url', async () => {
  const r = await ts.cli(['host', 'ls', '--url', 'http://127.0.0.2:9']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not signed in to http:\/\/127\.0\.0\.2:9/);
});

test('an unreachable server is reported with its URL and exit code 1', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const r = await runCli(['host', 'ls', '--json'], { env: { FLOTILLA_URL: url, FLOTILLA_TOKEN: 'flt_x', FLOTILLA_CLI_CONFIG: path.join(ts.dir, 'absent.json') } });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`cannot reach the Flotilla server at ${url}`), r.stderr);
  assert.equal(r.stdout, '');
});

test('a --url that is not http(s) is a usage error (exit 2) naming the option', async () => {
  const r = await runCli(['login', '--url', 'ftp://example', '--username', 'admin']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--url/);
});

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
