// Registry authentication against real docker-registry processes: htpasswd
// Basic auth, and token auth with a token server run here (JWT signed with a key
// the registry trusts). Credentials and tokens never reach messages or logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.ts';
import { parseWwwAuthenticate } from '../../src/updates/registry/auth.ts';
import { RegistryClient, RegistryError, type RegistryAccess } from '../../src/updates/registry/client.ts';
import { parseImageRef } from '../../src/updates/registry/reference.ts';
import { Pusher, startRegistry, startTokenServer, type TestRegistry, type TokenServer, type User } from './registry-fixtures.ts';

const alice: User = { username: 'alice', password: 'pa55-Alice:with-colon-0f1c' };
const bob: User = { username: 'bob', password: 'b0b-Token-Secret-7d2e' };
const WRONG = 'wrong-Password-93ab';

let basicRegistry: TestRegistry;
let tokenRegistry: TestRegistry;
let tokens: TokenServer;
const clients: RegistryClient[] = [];
const logLines: string[] = [];
const errorTexts: string[] = [];

function client(user: User | undefined, password = user?.password): RegistryClient {
  const c = new RegistryClient({
    access: (host): RegistryAccess => ({ host, insecure: true, skipTlsVerify: false, concurrency: 4, ...(user ? { username: user.username, password } : {}) }),
    log: createLogger('debug', { write: (line: string) => { logLines.push(line); } }),
  });
  clients.push(c);
  return c;
}

async function unauthorized(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(() => assert.fail('expected unauthorized'), (e: unknown) => e);
  assert.ok(error instanceof RegistryError, String(error));
  assert.equal(error.kind, 'unauthorized', error.message);
  assert.match(error.message, message);
  errorTexts.push(error.message, error.stack ?? '', String(error.cause ?? ''));
}

before(async () => {
  basicRegistry = await startRegistry({ kind: 'htpasswd', users: [alice] });
  tokens = await startTokenServer({ users: [bob] });
  tokenRegistry = await startRegistry({ kind: 'token', tokens });
  const basic = `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`;
  await new Pusher(basicRegistry.host, async () => basic).pushImage('private/app', '1');
  const bearer = async (repo: string) => `Bearer ${await tokens.mint([{ name: repo, actions: ['pull', 'push'] }])}`;
  await new Pusher(tokenRegistry.host, bearer).pushImage('team/api', '1');
  await new Pusher(tokenRegistry.host, bearer).pushImage('team/worker', '1');
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await basicRegistry?.stop();
  await tokenRegistry?.stop();
  await tokens?.close();
});

test('WWW-Authenticate: Bearer with its parameters, Basic, several challenges, quoting', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'),
    { scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' });
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"'), { scheme: 'basic', realm: 'Registry Realm' });
  assert.deepEqual(parseWwwAuthenticate('basic'), { scheme: 'basic', realm: undefined });
  assert.deepEqual(parseWwwAuthenticate('Basic realm="x", bearer realm=https://t/token, service=reg'),
    { scheme: 'bearer', realm: 'https://t/token', service: 'reg', scope: undefined }, 'Bearer preferred; unquoted values');
  assert.deepEqual(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="https://t/\\"q\\"",error="insufficient_scope"']),
    { scheme: 'bearer', realm: 'https://t/"q"', service: undefined, scope: undefined });
  assert.equal(parseWwwAuthenticate('Negotiate abc'), undefined);
  assert.equal(parseWwwAuthenticate('Bearer service="no realm"'), undefined);
  assert.equal(parseWwwAuthenticate(''), undefined);
  assert.equal(parseWwwAuthenticate(undefined), undefined);
});

test('Basic auth registry: resolves with the credentials, then sends them up front', async () => {
  const c = client(alice);
  const ref = parseImageRef(`${basicRegistry.host}/private/app:1`);
  const first = await c.resolve(ref);
  assert.match(first.digest, /^sha256:/);
  assert.equal(c.stats()[basicRegistry.host].requests, 2, 'the 401 challenge, then the answer');
  assert.equal((await c.resolve(ref)).digest, first.digest);
  assert.equal(c.stats()[basicRegistry.host].requests, 3, 'the known challenge is answered at once');
});

test('Basic auth registry: unauthorized without credentials and with wrong ones, each saying what to do', async () => {
  const ref = parseImageRef(`${basicRegistry.host}/private/app:1`);
  const anonymous = client(undefined);
  await unauthorized(anonymous.resolve(ref), /registry 127\.0\.0\.1:\d+ requires credentials for repository private\/app \(401\); add a username and password/);
  assert.equal(anonymous.stats()[basicRegistry.host].requests, 1, 'no retry without credentials to send');
  await unauthorized(client(alice, WRONG).resolve(ref), /registry 127\.0\.0\.1:\d+ refused the credentials for repository private\/app \(401\)/);
});

test('token auth registry: the bearer flow works and one token serves several resolves', async () => {
  const c = client(bob);
  const hitsBefore = tokens.hits;
  const api = parseImageRef(`${tokenRegistry.host}/team/api:1`);
  const first = await c.resolve(api);
  for (let i = 0; i < 4; i++) assert.equal((await c.resolve(api)).digest, first.digest);
  assert.equal(tokens.hits - hitsBefore, 1, 'one token for five resolves of one repository');
  assert.equal(c.stats()[tokenRegistry.host].requests, 1 + 1 + 1 + 4, '401, token, HEAD, then four HEADs with the cached token');
  await c.resolve(parseImageRef(`${tokenRegistry.host}/team/worker:1`));
  assert.equal(tokens.hits - hitsBefore, 2, 'another repository is another scope');
});

test('token auth: resolves at the same time share one token request', async () => {
  const c = client(bob);
  const hitsBefore = tokens.hits;
  const ref = parseImageRef(`${tokenRegistry.host}/team/api:1`);
  const results = await Promise.all(Array.from({ length: 6 }, () => c.resolve(ref)));
  assert.equal(new Set(results.map((r) => r.digest)).size, 1);
  assert.equal(tokens.hits - hitsBefore, 1);
});

test('token auth: access_token is accepted and an expired token is fetched again', async () => {
  const shortLived = await startTokenServer({ users: [bob], field: 'access_token', expiresIn: 1 });
  const reg = await startRegistry({ kind: 'token', tokens: shortLived });
  try {
    await new Pusher(reg.host, async (repo) => `Bearer ${await shortLived.mint([{ name: repo, actions: ['pull', 'push'] }], 60)}`).pushImage('short', '1');
    const c = client(bob);
    const ref = parseImageRef(`${reg.host}/short:1`);
    await c.resolve(ref);
    await c.resolve(ref);
    assert.equal(shortLived.hits, 1);
    const deadline = Date.now() + 5000;
    while (shortLived.hits < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await c.resolve(ref);
    }
    assert.equal(shortLived.hits, 2, 'a new token once expires_in has passed');
  } finally {
    await reg.stop();
    await shortLived.close();
  }
});

test('token auth: unauthorized without credentials and with wrong ones', async () => {
  const ref = parseImageRef(`${tokenRegistry.host}/team/api:1`);
  await unauthorized(client(undefined).resolve(ref), /requires credentials for repository team\/api \(token service 127\.0\.0\.1:\d+ answered 401\); add a username and password/);
  await unauthorized(client(bob, WRONG).resolve(ref), /refused the credentials for repository team\/api \(token service 127\.0\.0\.1:\d+ answered 401\)/);
});

test('credentials are not sent to a plain-HTTP token service of an HTTPS registry', async () => {
  const reg = await startRegistry({ kind: 'token', tokens }, { tls: true });
  const hitsBefore = tokens.hits;
  try {
    const c = new RegistryClient({ access: (host) => ({ host, username: bob.username, password: bob.password, insecure: false, skipTlsVerify: true, concurrency: 1 }) });
    clients.push(c);
    const error = await c.resolve(parseImageRef(`${reg.host}/team/api:1`)).catch((e: unknown) => e);
    assert.ok(error instanceof RegistryError && error.kind === 'bad_response', String(error));
    assert.match(error.message, /sends credentials to a plain-HTTP token service \(127\.0\.0\.1:\d+\); refusing/);
    assert.equal(tokens.hits, hitsBefore, 'the token service was never asked');
  } finally {
    await reg.stop();
  }
});

test('no password or token appears in any error message or log line', () => {
  const logged = logLines.join('\n');
  assert.ok(logLines.length > 10, 'the client logged its requests');
  assert.ok(errorTexts.length >= 4, 'errors were collected');
  const secrets = [alice.password, bob.password, WRONG, Buffer.from(`${alice.username}:${alice.password}`).toString('base64'), ...tokens.issued];
  assert.ok(tokens.issued.length >= 2, 'tokens were issued');
  for (const secret of secrets) {
    assert.ok(!logged.includes(secret), 'a secret in the log');
    for (const text of errorTexts) assert.ok(!text.includes(secret), `a secret in an error: ${text.slice(0, 200)}`);
  }
  // Token signatures are the secret part; even a fragment must not show.
  for (const token of tokens.issued) assert.ok(!logged.includes(token.split('.')[2].slice(0, 24)));
});
