// `flotilla host …` against a real server; the hosts point at endpoints nothing listens on, so no lab is needed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ok, parseJson, startTestServer, uniqueName, type TestServer } from './helpers.ts';

type Host = { name: string; endpoint: string; status: string; environment: string; environmentLabel: string | null; syncIntervalSeconds: number; tls: boolean };

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ admin: true });
});
after(async () => {
  await ts.close();
});

/** Adds a host and removes it when the test ends. */
async function addHost(t: { after: (fn: () => Promise<void>) => void }, extra: string[] = []): Promise<string> {
  const name = uniqueName('h');
  ok(await ts.cli(['host', 'add', name, 'tcp://127.0.0.1:1', ...extra]));
  t.after(async () => {
    await ts.cli(['host', 'rm', name]);
  });
  return name;
}

test('host add of an endpoint nothing listens on succeeds, and host ls --json shows it', async (t) => {
  const name = await addHost(t, ['--environment', 'custom', '--environment-label', 'lab', '--interval', '45']);
  const hosts = parseJson<Host[]>(ok(await ts.cli(['host', 'ls', '--json'])));
  const h = hosts.find((x) => x.name === name);
  assert.ok(h, `${name} missing from ${JSON.stringify(hosts)}`);
  assert.equal(h.endpoint, 'tcp://127.0.0.1:1');
  assert.equal(h.environment, 'custom');
  assert.equal(h.environmentLabel, 'lab');
  assert.equal(h.syncIntervalSeconds, 45);
});

test('host ls prints a table with the documented columns', async (t) => {
  const name = await addHost(t);
  const out = ok(await ts.cli(['host', 'ls'])).stdout;
  const [header, ...rows] = out.trimEnd().split('\n');
  assert.match(header!, /^NAME\s+KIND\s+STATUS\s+ENDPOINT\s+ENGINE\s+VERSION\s+CONTAINERS\s+LAST SYNC$/);
  assert.ok(rows.some((r) => r.startsWith(name) && r.includes('tcp://127.0.0.1:1') && r.includes('0/0')), out);
});

test('host add with a sync interval under 30 s is a usage error naming the interval', async () => {
  const r = await ts.cli(['host', 'add', uniqueName('bad'), 'tcp://127.0.0.1:1', '--interval', '5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--interval/);
  assert.match(r.stderr, /at least 30 seconds/);
});

test('an unknown flag is a usage error with exit code 2', async () => {
  const r = await ts.cli(['host', 'ls', '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
});

test('an environment outside the choices is a usage error listing them', async () => {
  const r = await ts.cli(['host', 'add', uniqueName('env'), 'tcp://127.0.0.1:1', '--environment', 'qa']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--environment.*staging, production, development, custom/s);
});

test('host show of an unknown host exits 1 with the server\'s "not found"', async () => {
  const r = await ts.cli(['host', 'show', 'nosuch']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flotilla: .*not found/m);
});

test('host show prints the host\'s fields, and --json the host object', async (t) => {
  const name = await addHost(t);
  assert.match(ok(await ts.cli(['host', 'show', name])).stdout, new RegExp(`^Name:\\s+${name}$`, 'm'));
  assert.equal(parseJson<Host>(ok(await ts.cli(['host', 'show', name, '--json']))).name, name);
});

test('host add reads the TLS files and sends their PEM text', async (t) => {
  const ca = path.join(ts.dir, 'ca.pem');
  fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const name = await addHost(t, ['--tls-ca', ca]);
  assert.equal(parseJson<Host>(ok(await ts.cli(['host', 'show', name, '--json']))).tls, true);
  const missing = await ts.cli(['host', 'add', uniqueName('tls'), 'tcp://127.0.0.1:1', '--tls-ca', path.join(ts.dir, 'absent.pem')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--tls-ca .*absent\.pem: no such file/);
});

test('host sync of an unreachable host reports the failure and exits 1', async (t) => {
  const name = await addHost(t);
  const r = await ts.cli(['host', 'sync', name]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`syncing ${name}…`)); // not a terminal: one progress line
  assert.match(r.stdout, /sync failed .*ECONNREFUSED/);
});

test('host maintenance on/off switches the status; other values are a usage error', async (t) => {
  const name = await addHost(t);
  const on = parseJson<Host>(ok(await ts.cli(['host', 'maintenance', name, 'on', '--json'])));
  assert.equal(on.status, 'maintenance');
  const off = parseJson<Host>(ok(await ts.cli(['host', 'maintenance', name, 'off', '--json'])));
  assert.notEqual(off.status, 'maintenance');
  const bad = await ts.cli(['host', 'maintenance', name, 'maybe']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /on, off/);
});

test('host history lists the status changes, newest first', async (t) => {
  const name = await addHost(t);
  ok(await ts.cli(['host', 'maintenance', name, 'on']));
  const rows = parseJson<Array<{ to_status: string }>>(ok(await ts.cli(['host', 'history', name, '--json'])));
  assert.equal(rows[0]?.to_status, 'maintenance');
});

test('host recover of a host that is not in error is refused by the server', async (t) => {
  const name = await addHost(t);
  const r = await ts.cli(['host', 'recover', name]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not in error/);
});

test('host rm forgets the host', async () => {
  const name = uniqueName('rm');
  ok(await ts.cli(['host', 'add', name, 'tcp://127.0.0.1:1']));
  assert.deepEqual(parseJson(ok(await ts.cli(['host', 'rm', name, '--json']))), { removed: name });
  assert.equal((await ts.cli(['host', 'show', name])).code, 1);
});
