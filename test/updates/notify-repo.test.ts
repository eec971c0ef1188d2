// Notification targets in the store: validated on add, URL and secret sealed at
// rest, views that never carry them (URL cut to scheme://host/…), the opened
// target only for the notifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../src/store/db.ts';
import { SecretBox } from '../../src/store/secret-box.ts';
import { NotificationTargetsRepo, redactUrl } from '../../src/store/notifications-repo.ts';
import { BadRequest, Conflict, NotFound } from '../../src/errors.ts';

const TOKEN = 'T0KEN-in-the-path-8f3a';
const QUERY = 'qs-secret-77b1';
const SECRET = 'whsec-signing-key-42';

async function tempRepo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-notify-repo-'));
  const db = await openSqliteStore(':memory:');
  const repo = new NotificationTargetsRepo(db, SecretBox.openOrCreate(path.join(dir, 'secret.key')));
  return { db, repo, cleanup: async () => { await db.destroy(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

test('a target\'s URL and secret are sealed at rest and never returned by list or get', async () => {
  const { db, repo, cleanup } = await tempRepo();
  try {
    const url = `https://user:pw-9z@hooks.example.com:8443/services/${TOKEN}?key=${QUERY}`;
    const view = await repo.add({ name: 'ops', kind: 'webhook', url, secret: SECRET, events: ['updated', 'rolled_back'] });
    assert.equal(view.url, 'https://hooks.example.com:8443/…');
    assert.equal(view.hasSecret, true);
    assert.deepEqual(view.events, ['updated', 'rolled_back']);
    assert.equal(view.enabled, true);

    const raw = JSON.stringify(await db.selectFrom('notification_targets').selectAll().execute());
    for (const s of [TOKEN, QUERY, SECRET, 'pw-9z', 'hooks.example.com']) assert.ok(!raw.includes(s), `raw row holds ${s}`);

    const shown = JSON.stringify([await repo.list(), await repo.get('ops'), await repo.get(view.id)]);
    for (const s of [TOKEN, QUERY, SECRET, 'pw-9z', 'user:']) assert.ok(!shown.includes(s), `view holds ${s}`);
    assert.ok(!('secret' in view));

    const opened = await repo.open('ops');
    assert.equal(opened.url, url);
    assert.equal(opened.secret, SECRET);
  } finally {
    await cleanup();
  }
});

test('events default to every kind; openEnabled leaves out disabled targets', async () => {
  const { repo, cleanup } = await tempRepo();
  try {
    const all = await repo.add({ name: 'all', kind: 'ntfy', url: 'https://ntfy.example/flotilla' });
    assert.deepEqual(all.events, ['update_available', 'updated', 'rolled_back', 'check_failed']);
    assert.equal(all.hasSecret, false);
    await repo.add({ name: 'off', kind: 'slack', url: 'https://hooks.slack.example/x', enabled: false });
    await repo.add({ name: 'later', kind: 'webhook', url: 'http://127.0.0.1:9/h' });
    await repo.setEnabled('later', false);
    assert.deepEqual((await repo.openEnabled()).map((t) => t.name), ['all']);
    assert.deepEqual((await repo.list()).map((t) => [t.name, t.enabled]), [['all', true], ['later', false], ['off', false]]);
  } finally {
    await cleanup();
  }
});

test('bad input is a BadRequest naming the field; a taken name is a Conflict', async () => {
  const { repo, cleanup } = await tempRepo();
  try {
    await repo.add({ name: 'ops', kind: 'webhook', url: 'https://a.example/h' });
    await assert.rejects(repo.add({ name: 'ops', kind: 'ntfy', url: 'https://b.example/t' }), Conflict);
    const cases: [unknown, string][] = [
      [{ name: 'x', kind: 'email', url: 'https://a.example' }, 'kind'],
      [{ name: 'x', kind: 'webhook', url: 'ftp://a.example/h' }, 'url'],
      [{ name: 'x', kind: 'webhook', url: 'file:///etc/passwd' }, 'url'],
      [{ name: 'x', kind: 'webhook', url: `not a url ${TOKEN}` }, 'url'],
      [{ name: 'x', kind: 'webhook', url: 'https://a.example', events: [] }, 'events'],
      [{ name: 'x', kind: 'webhook', url: 'https://a.example', events: ['updated', 'deleted'] }, 'events.1'],
      [{ name: '', kind: 'webhook', url: 'https://a.example' }, 'name'],
      [{ name: '../x', kind: 'webhook', url: 'https://a.example' }, 'name'],
      [{ name: 'x', kind: 'slack', url: 'https://hooks.slack.example/x', secret: 's3cret' }, 'secret'],
      [{ name: 'x', kind: 'webhook', url: 'https://a.example', colour: 'red' }, ''],
    ];
    for (const [input, field] of cases) {
      await assert.rejects(repo.add(input), (err: unknown) => {
        assert.ok(err instanceof BadRequest, `${JSON.stringify(input)}: ${String(err)}`);
        if (field) assert.equal(err.field, field, err.message);
        assert.ok(!err.message.includes(TOKEN), 'the message does not echo the URL');
        return true;
      });
    }
    assert.equal((await repo.list()).length, 1);
  } finally {
    await cleanup();
  }
});

test('remove deletes a target; unknown ones are NotFound', async () => {
  const { repo, cleanup } = await tempRepo();
  try {
    const t = await repo.add({ name: 'gone', kind: 'webhook', url: 'https://a.example/h' });
    await repo.remove(t.id);
    await assert.rejects(repo.get('gone'), NotFound);
    await assert.rejects(repo.open(t.id), NotFound);
    await assert.rejects(repo.remove('gone'), NotFound);
  } finally {
    await cleanup();
  }
});

test('redactUrl keeps scheme and host only', () => {
  assert.equal(redactUrl(`https://u:p@ntfy.sh/${TOKEN}?auth=${QUERY}`), 'https://ntfy.sh/…');
  assert.equal(redactUrl('http://127.0.0.1:8080/x'), 'http://127.0.0.1:8080/…');
  assert.equal(redactUrl('nope'), '(invalid URL)');
});
