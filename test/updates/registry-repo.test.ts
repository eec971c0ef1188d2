// RegistriesRepo on a real SQLite file: the password is sealed at rest, views
// never carry it, access() opens it for the registry client, and bad input is
// refused naming the field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BadRequest, Conflict, NotFound } from '../../src/errors.ts';
import { openSqliteStore, type Db } from '../../src/store/db.ts';
import { RegistriesRepo } from '../../src/store/registries-repo.ts';
import { SecretBox } from '../../src/store/secret-box.ts';
import { RegistryClient } from '../../src/updates/registry/client.ts';
import { parseImageRef } from '../../src/updates/registry/reference.ts';
import { Pusher, startRegistry, type TestRegistry } from './registry-fixtures.ts';

const PASSWORD = 'Sealed-Pa55word-4e1d';
let dir: string;
let db: Db;
let repo: RegistriesRepo;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-registries-'));
  db = await openSqliteStore(path.join(dir, 'flotilla.db'));
  repo = new RegistriesRepo(db, SecretBox.openOrCreate(path.join(dir, 'secret.key')));
});

after(async () => {
  await db?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('add seals the password; list and get show hasPassword, never the password', async () => {
  const view = await repo.add({ host: 'Registry.Example.com:5000', username: 'ci', password: PASSWORD, concurrency: 2 });
  assert.equal(view.host, 'registry.example.com:5000', 'host names are lower-cased');
  assert.deepEqual({ ...view, id: '', createdAt: '', updatedAt: '' }, {
    id: '', host: 'registry.example.com:5000', username: 'ci', hasPassword: true, insecure: false, skipTlsVerify: false, concurrency: 2, createdAt: '', updatedAt: '',
  });
  const raw = await db.selectFrom('registries').selectAll().where('id', '=', view.id).executeTakeFirstOrThrow();
  assert.ok(raw.password_sealed && !raw.password_sealed.includes(PASSWORD), 'sealed at rest');
  assert.ok(!fs.readFileSync(path.join(dir, 'flotilla.db')).includes(PASSWORD) && !walText().includes(PASSWORD), 'not in the database file');
  for (const shown of [await repo.list(), await repo.get(view.id), await repo.get('registry.example.com:5000')]) {
    const text = JSON.stringify(shown);
    assert.ok(!text.includes(PASSWORD) && !text.includes(raw.password_sealed), 'no password, sealed or not');
    assert.ok(!text.includes('password"'), 'no password field at all');
  }
  const access = await repo.access('registry.example.com:5000');
  assert.deepEqual(access, { host: 'registry.example.com:5000', username: 'ci', password: PASSWORD, insecure: false, skipTlsVerify: false, concurrency: 2 });
  assert.equal(await repo.access('unknown.example.com'), undefined);
  await repo.remove(view.id);
});

function walText(): string {
  const wal = path.join(dir, 'flotilla.db-wal');
  return fs.existsSync(wal) ? fs.readFileSync(wal, 'latin1') : '';
}

test('a duplicate host is a Conflict; Docker Hub has one name', async () => {
  const hub = await repo.add({ host: 'index.docker.io' });
  assert.equal(hub.host, 'docker.io');
  await assert.rejects(repo.add({ host: 'docker.io' }), Conflict);
  await assert.rejects(repo.add({ host: 'registry-1.docker.io', username: 'u', password: 'p' }), /registry docker\.io is already registered/);
  await repo.remove('docker.io');
});

test('invalid input is a BadRequest naming the field', async () => {
  const cases: Array<[Parameters<RegistriesRepo['add']>[0], string, RegExp]> = [
    [{ host: 'https://ghcr.io' }, 'host', /without a scheme/],
    [{ host: 'ghcr.io/org' }, 'host', /not a host\[:port\]/],
    [{ host: '' }, 'host', /not a host/],
    [{ host: 'bad_host' }, 'host', /not a host/],
    [{ host: 'ghcr.io:99999' }, 'host', /not a host/],
    [{ host: 'ghcr.io', username: 'u' }, 'password', /both a username and a password/],
    [{ host: 'ghcr.io', password: 'p' }, 'username', /both a username and a password/],
    [{ host: 'ghcr.io', username: 'a:b', password: 'p' }, 'username', /must not contain ":"/],
    [{ host: 'ghcr.io', concurrency: 0 }, 'concurrency', /1 to 64/],
    [{ host: 'ghcr.io', concurrency: 2.5 }, 'concurrency', /1 to 64/],
  ];
  for (const [input, field, message] of cases) {
    await assert.rejects(repo.add(input), (error: unknown) => {
      assert.ok(error instanceof BadRequest, `${JSON.stringify(input)}: ${String(error)}`);
      assert.equal(error.field, field, JSON.stringify(input));
      assert.match(error.message, message);
      return true;
    });
  }
  assert.deepEqual(await repo.list(), []);
});

test('update changes what it is given; null clears the credentials; unknown registries are NotFound', async () => {
  const view = await repo.add({ host: '127.0.0.1:5999', username: 'u', password: 'first' });
  const updated = await repo.update('127.0.0.1:5999', { password: 'second', insecure: true, concurrency: 8 });
  assert.equal(updated.username, 'u');
  assert.equal(updated.hasPassword, true);
  assert.equal(updated.insecure, true);
  assert.equal(updated.concurrency, 8);
  assert.ok(updated.updatedAt >= view.updatedAt);
  assert.equal((await repo.access('127.0.0.1:5999'))?.password, 'second');
  await assert.rejects(repo.update(view.id, { username: null }), /both a username and a password/);
  const cleared = await repo.update(view.id, { username: null, password: null });
  assert.equal(cleared.hasPassword, false);
  assert.equal(cleared.username, null);
  assert.deepEqual(await repo.access('127.0.0.1:5999'), { host: '127.0.0.1:5999', insecure: true, skipTlsVerify: false, concurrency: 8 });
  const other = await repo.add({ host: 'other.example' });
  await assert.rejects(repo.update(other.id, { host: '127.0.0.1:5999' }), Conflict);
  await repo.remove(other.id);
  await repo.remove(view.id);
  await assert.rejects(repo.get(view.id), NotFound);
  await assert.rejects(repo.remove('127.0.0.1:5999'), /registry 127\.0\.0\.1:5999 is not registered/);
  await assert.rejects(repo.update('nowhere', { insecure: true }), NotFound);
});

test('the client checks a Basic-auth registry with the credentials the repo keeps', async () => {
  const user = { username: 'deploy', password: PASSWORD };
  let registry: TestRegistry | undefined;
  const client = new RegistryClient({ access: (host) => repo.access(host) });
  try {
    registry = await startRegistry({ kind: 'htpasswd', users: [user] });
    const auth = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    const pushed = await new Pusher(registry.host, async () => auth).pushImage('svc', '3');
    await repo.add({ host: registry.host, ...user, insecure: true, concurrency: 1 });
    assert.equal((await client.resolve(parseImageRef(`${registry.host}/svc:3`))).digest, pushed.digest);
    await repo.update(registry.host, { password: 'not-it-any-more' });
    const error = await client.resolve(parseImageRef(`${registry.host}/svc:3`)).catch((e: Error) => e);
    assert.match(String(error), /refused the credentials for repository svc \(401\)/);
    await repo.remove(registry.host);
  } finally {
    await client.close();
    await registry?.stop();
  }
});
