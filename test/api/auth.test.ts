// Authentication, roles, tokens, setup and the route table, against a real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { ADMIN_PASSWORD, apiClient, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.close());

test('first-run setup needs the setup code, works once, then is closed', async () => {
  const dataDir = fs.mkdtempSync('/tmp/flotilla-setup-');
  const handle = await startServer(loadConfig({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_LOG_LEVEL: 'silent' }));
  try {
    const anon = apiClient(handle.url, undefined);
    assert.deepEqual((await anon.get('/api/v1/setup')).body, { needed: true });
    assert.equal(fs.statSync(path.join(dataDir, 'setup-code')).mode & 0o777, 0o600);
    const wrong = await anon.post('/api/v1/setup', { setupCode: 'nope', username: 'root', password: ADMIN_PASSWORD });
    assert.equal(wrong.status, 403);
    const weak = await anon.post('/api/v1/setup', { setupCode: handle.setupCode, username: 'root', password: 'short' });
    assert.equal(weak.status, 400);
    assert.match(weak.body.message, /password/);
    const ok = await anon.post('/api/v1/setup', { setupCode: handle.setupCode, username: 'root', password: ADMIN_PASSWORD });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.role, 'admin');
    // After setup the setup routes require authentication like everything else.
    assert.equal((await anon.get('/api/v1/setup')).status, 401);
    assert.equal((await anon.post('/api/v1/setup', { setupCode: handle.setupCode, username: 'x', password: ADMIN_PASSWORD })).status, 401);
    assert.equal(fs.existsSync(path.join(dataDir, 'setup-code')), false);
  } finally {
    await handle.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('every route answers 401 without authentication, except health, login and setup-before-setup', async () => {
  const table = srv.handle.app.routeTable;
  assert.ok(table.length > 30, `expected the whole route table, got ${table.length}`);
  const anon = apiClient(srv.url, undefined);
  const open: string[] = [];
  for (const r of table) {
    if (r.method === 'HEAD' || r.method === 'OPTIONS') continue;
    const url = r.url.replace(/:(\w+)/g, 'x');
    const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined;
    const res = await anon.request(r.method, url, body);
    if (r.access === 'health') {
      assert.ok(res.status < 400, `${r.method} ${r.url} is a health route and must answer, got ${res.status}`);
      open.push(r.url);
      continue;
    }
    // The dashboard's shell and its hashed files: public, and never data.
    if (r.access === 'asset') {
      const page = await fetch(srv.url + (r.url === '/assets/*' ? '/assets/no-such-file.js' : r.url), { headers: { accept: 'text/html' } });
      assert.doesNotMatch(page.headers.get('content-type') ?? '', /json/, `${r.url} must not answer JSON`);
      assert.ok([200, 404, 503].includes(page.status), `${r.method} ${r.url}: ${page.status}`);
      open.push(r.url);
      continue;
    }
    // Login answers without a session by nature, but only ever 400/401 without valid credentials.
    if (r.access === 'login') {
      assert.ok([400, 401].includes(res.status), `${r.method} ${r.url}: ${res.status}`);
      continue;
    }
    assert.equal(res.status, 401, `${r.method} ${r.url} answered ${res.status} without authentication`);
  }
  assert.deepEqual(open.sort(), ['/', '/assets/*', '/healthz', '/readyz']);
  // A page path of the dashboard gets the shell; the same path asked for as data stays a 401.
  const shell = await fetch(`${srv.url}/containers`, { headers: { accept: 'text/html' } });
  assert.match(shell.headers.get('content-type') ?? '', /text\/html|text\/plain/);
  assert.equal((await anon.get('/containers')).status, 401);
  // Unknown paths do not reveal whether they exist.
  assert.equal((await anon.get('/api/v1/nosuch')).status, 401);
  assert.equal((await srv.admin.get('/api/v1/nosuch')).status, 404);
  // A bad token is refused, not ignored.
  assert.equal((await apiClient(srv.url, 'flt_bogus').get('/api/v1/hosts')).status, 401);
});

test('a route that declares no permission cannot be registered', async () => {
  const { requireDeclaredAccess } = await import('../../src/api/auth-hooks.ts');
  assert.throws(() => requireDeclaredAccess({ method: 'GET', url: '/x', handler: async () => 1 }), /declares neither/);
});

test('viewer can read but not operate; operator cannot manage hosts or users', async () => {
  const viewer = await srv.userWithRole('viewer');
  assert.equal((await viewer.get('/api/v1/hosts')).status, 200);
  const denied = await viewer.post('/api/v1/hosts/any/containers/abc/start');
  assert.equal(denied.status, 403);
  assert.match(denied.body.message, /containers\.operate/);
  assert.equal((await viewer.post('/api/v1/hosts', { name: 'h', endpoint: 'tcp://127.0.0.1:1' })).status, 403);
  assert.equal((await viewer.get('/api/v1/audit')).status, 403);
  const operator = await srv.userWithRole('operator');
  assert.equal((await operator.post('/api/v1/hosts', { name: 'h', endpoint: 'tcp://127.0.0.1:1' })).status, 403);
  assert.equal((await operator.get('/api/v1/users')).status, 403);
  // The refusal is audited with the user's name.
  const audit = await srv.admin.get('/api/v1/audit?action=container.start');
  assert.ok(audit.body.some((e: any) => e.result === 'denied' && e.username.startsWith('viewer')));
});

test('login sets an HttpOnly session cookie; wrong passwords are rate limited', async () => {
  const s2 = await startTestServer({ FLOTILLA_LOGIN_RATE_LIMIT: '3' });
  try {
    const anon = apiClient(s2.url, undefined);
    const ok = await anon.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, /flotilla_session=[0-9a-f]{64}/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const me = await anon.request('GET', '/api/v1/auth/me', undefined, { cookie: cookie.split(';')[0]! });
    assert.equal(me.body.user.username, 'admin');
    assert.equal(me.body.via, 'session');
    for (let i = 0; i < 3; i++) assert.equal((await anon.post('/api/v1/auth/login', { username: 'admin', password: 'wrong password!' })).status, 401);
    const limited = await anon.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(limited.status, 429);
    const audit = await s2.admin.get('/api/v1/audit?action=auth.login');
    assert.equal(audit.body.filter((e: any) => e.result === 'denied').length, 3);
  } finally {
    await s2.close();
  }
});

test('API tokens are shown once, stored hashed, and can be revoked', async () => {
  const created = await srv.admin.post('/api/v1/tokens', { name: 'ci', ttlDays: 30 });
  assert.equal(created.status, 201);
  const token: string = created.body.token;
  assert.match(token, /^flt_[0-9a-f]{64}$/);
  const list = await srv.admin.get('/api/v1/tokens');
  assert.ok(!JSON.stringify(list.body).includes(token));
  const row = await srv.handle.store.db.selectFrom('api_tokens').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
  assert.notEqual(row.token_hash, token);
  const client = apiClient(srv.url, token);
  assert.equal((await client.get('/api/v1/auth/me')).status, 200);
  assert.equal((await srv.admin.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status, 204);
  assert.equal((await client.get('/api/v1/auth/me')).status, 401);
});

test('the last admin cannot be demoted or deleted', async () => {
  const admins = (await srv.admin.get('/api/v1/users')).body.filter((u: any) => u.role === 'admin');
  if (admins.length !== 1) return assert.fail('expected exactly one admin in this server');
  assert.equal((await srv.admin.request('PATCH', '/api/v1/users/admin', { role: 'viewer' })).status, 409);
  assert.equal((await srv.admin.request('DELETE', '/api/v1/users/admin')).status, 409);
});

test('the OpenAPI document is generated from the route schemas', async () => {
  const doc = await srv.admin.get('/api/v1/openapi.json');
  assert.equal(doc.status, 200);
  assert.equal(doc.body.openapi, '3.1.0');
  const paths = Object.keys(doc.body.paths);
  for (const p of ['/api/v1/hosts', '/api/v1/hosts/{host}/containers/{id}/exec', '/api/v1/auth/login', '/api/v1/hosts/{host}/images/pull']) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
  const addHost = doc.body.paths['/api/v1/hosts'].post;
  assert.ok(addHost.requestBody.content['application/json'].schema.properties.syncIntervalSeconds);
});

test('health, readiness and metrics', async () => {
  const anon = apiClient(srv.url, undefined);
  assert.deepEqual((await anon.get('/healthz')).body, { status: 'ok' });
  assert.deepEqual((await anon.get('/readyz')).body, { status: 'ready' });
  assert.equal((await anon.get('/metrics')).status, 401);
  const m = await srv.admin.get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body, /flotilla_http_request_duration_seconds_bucket/);
  assert.match(m.body, /flotilla_process_cpu_seconds_total/);
});
