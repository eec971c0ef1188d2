// `flotilla user …`, `api-token …`, `audit` and `events` against a real server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ok, parseJson, runCli, startTestServer, uniqueName, type TestServer } from './helpers.ts';

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ admin: true });
});
after(async () => {
  await ts.close();
});

/** Creates a user and deletes it when the test ends. */
async function addUser(t: { after: (fn: () => Promise<void>) => void }, role: string): Promise<{ name: string; password: string }> {
  const name = uniqueName('u');
  const password = `pw-${name}`;
  ok(await ts.cli(['user', 'add', name, '--role', role, '--password-stdin'], { input: `${password}\n` }));
  t.after(async () => {
    await ts.cli(['user', 'rm', name]);
  });
  return { name, password };
}

test('user add, then api-token create prints the token once and api-token ls never shows it again', async (t) => {
  const user = await addUser(t, 'operator');
  const config = path.join(ts.dir, `${user.name}.json`);
  const env = { FLOTILLA_CLI_CONFIG: config };
  ok(await runCli(['login', '--url', ts.url, '--username', user.name, '--password-stdin'], { input: user.password, env }));

  const created = ok(await runCli(['api-token', 'create', 'ci-deploy', '--ttl-days', '7'], { env }));
  const token = created.stdout.trim();
  assert.match(token, /^flt_[0-9a-f]{64}$/);
  assert.match(created.stderr, /will not be shown again/);

  const table = ok(await runCli(['api-token', 'ls'], { env }));
  const json = ok(await runCli(['api-token', 'ls', '--json'], { env }));
  assert.ok(!table.stdout.includes(token) && !json.stdout.includes(token), 'api-token ls shows the secret');
  const listed = parseJson<Array<{ id: string; name: string; expires_at: string | null }>>(json);
  const mine = listed.find((x) => x.name === 'ci-deploy');
  assert.ok(mine?.expires_at, 'the token has an expiry');

  // The new token works on its own, and api-token rm revokes it.
  ok(await runCli(['host', 'ls'], { env: { FLOTILLA_URL: ts.url, FLOTILLA_TOKEN: token, FLOTILLA_CLI_CONFIG: path.join(ts.dir, 'none.json') } }));
  ok(await runCli(['api-token', 'rm', mine.id], { env }));
  const revoked = await runCli(['host', 'ls'], { env: { FLOTILLA_URL: ts.url, FLOTILLA_TOKEN: token, FLOTILLA_CLI_CONFIG: path.join(ts.dir, 'none.json') } });
  assert.equal(revoked.code, 1);
});

test('api-token create --json includes the token; a bad --ttl-days is a usage error', async () => {
  const t = parseJson<{ id: string; token: string }>(ok(await ts.cli(['api-token', 'create', uniqueName('tok'), '--json'])));
  assert.match(t.token, /^flt_/);
  ok(await ts.cli(['api-token', 'rm', t.id]));
  const bad = await ts.cli(['api-token', 'create', 'x', '--ttl-days', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--ttl-days/);
});

test('user ls, set-role and passwd; a role outside the choices is a usage error', async (t) => {
  const user = await addUser(t, 'viewer');
  const users = parseJson<Array<{ username: string; role: string }>>(ok(await ts.cli(['user', 'ls', '--json'])));
  assert.equal(users.find((u) => u.username === user.name)?.role, 'viewer');
  assert.match(ok(await ts.cli(['user', 'ls'])).stdout, /^USERNAME\s+ROLE/);

  assert.equal(parseJson<{ role: string }>(ok(await ts.cli(['user', 'set-role', user.name, 'operator', '--json']))).role, 'operator');
  const bad = await ts.cli(['user', 'set-role', user.name, 'root']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /admin, operator, viewer/);

  ok(await ts.cli(['user', 'passwd', user.name, '--password-stdin'], { input: 'a-new-password-2\n' }));
  const config = path.join(ts.dir, `${user.name}-pw.json`);
  ok(await runCli(['login', '--url', ts.url, '--username', user.name, '--password-stdin'], { input: 'a-new-password-2', env: { FLOTILLA_CLI_CONFIG: config } }));
});

test('a short password is refused by the server with its message', async () => {
  const r = await ts.cli(['user', 'add', uniqueName('short'), '--role', 'viewer', '--password-stdin'], { input: 'short' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flotilla: .*password.*at least 10 characters/m);
});

test('a viewer is refused user management with the server\'s permission message', async (t) => {
  const user = await addUser(t, 'viewer');
  const env = { FLOTILLA_CLI_CONFIG: path.join(ts.dir, `${user.name}.json`) };
  ok(await runCli(['login', '--url', ts.url, '--username', user.name, '--password-stdin'], { input: user.password, env }));
  const r = await runCli(['user', 'ls'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /lacks permission "users.manage"/);
});

test('user rm deletes the user; deleting an unknown user is "not found"', async () => {
  const name = uniqueName('gone');
  ok(await ts.cli(['user', 'add', name, '--role', 'viewer', '--password-stdin'], { input: 'long-enough-pw' }));
  ok(await ts.cli(['user', 'rm', name]));
  const again = await ts.cli(['user', 'rm', name]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not found/);
});

test('audit lists recorded actions, filtered by user and action', async () => {
  const name = uniqueName('audited');
  ok(await ts.cli(['host', 'add', name, 'tcp://127.0.0.1:1']));
  ok(await ts.cli(['host', 'rm', name]));
  const rows = parseJson<Array<{ action: string; username: string; detail: string | null }>>(
    ok(await ts.cli(['audit', '--user', 'admin', '--action', 'host.add', '--limit', '50', '--json'])),
  );
  assert.ok(rows.length > 0 && rows.every((r) => r.action === 'host.add' && r.username === 'admin'));
  assert.ok(rows.some((r) => r.detail?.includes(name)));
  assert.match(ok(await ts.cli(['audit', '--limit', '5'])).stdout, /^AT\s+USER\s+ACTION/);
  assert.equal((await ts.cli(['audit', '--limit', '0'])).code, 2);
});

test('events answers a JSON array and a table', async () => {
  assert.ok(Array.isArray(parseJson(ok(await ts.cli(['events', '--limit', '5', '--json'])))));
  assert.match(ok(await ts.cli(['events'])).stdout, /^AT\s+HOST\s+TYPE\s+ACTION/);
});
