// `flotilla updates …`, `registry …` and `notify …` end to end against a real
// server: credentials go in through stdin and never come out, a test notice
// reaches a real local receiver signed, settings and policies round-trip, and
// the server's refusals come back as exit 1 with its message. With the lab up,
// a container of a lab engine is checked and listed.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../../src/updates/notify/signature.ts';
import { labState, type LabState } from '../lab/fixture.ts';
import { ok, parseJson, startTestServer, uniqueName, waitFor, type TestServer } from './helpers.ts';

// Under scripts/test.sh (FLOTILLA_REQUIRE_LAB=1) a missing lab fails instead of skipping.
const lab: LabState | undefined = process.env.FLOTILLA_REQUIRE_LAB === '1' ? await labState() : await labState().catch(() => undefined);

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ admin: true });
});
after(async () => {
  await ts.close();
});

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver answering `status`; its requests are recorded as received. */
async function startReceiver(t: { after: (fn: () => Promise<void>) => void }, status: number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

test('registry add reads the password from stdin and never prints it; ls shows only that one is set; rm removes it', async () => {
  const host = `${uniqueName('reg')}.example:5000`;
  const password = `pw-${uniqueName('secret')}`;
  const added = ok(await ts.cli(['registry', 'add', host, '--username', 'bot', '--password-stdin', '--concurrency', '2'], { input: `${password}\n` }));
  assert.match(added.stdout, new RegExp(`added registry ${host.replace(/\./g, '\\.')} \\(user bot\\)`));
  const table = ok(await ts.cli(['registry', 'ls']));
  const json = ok(await ts.cli(['registry', 'ls', '--json']));
  for (const out of [added.stdout, added.stderr, table.stdout, json.stdout]) assert.ok(!out.includes(password), 'the password is printed');
  const row = table.stdout.split('\n').find((l) => l.startsWith(host));
  assert.match(row ?? '', /\bbot\s+has-password\s+https\s+2\b/, table.stdout);
  const listed = parseJson<Array<{ host: string; hasPassword: boolean; username: string }>>(json).find((r) => r.host === host);
  assert.deepEqual({ hasPassword: listed?.hasPassword, username: listed?.username }, { hasPassword: true, username: 'bot' });

  const again = await ts.cli(['registry', 'add', host]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already registered/);
  const asArgument = await ts.cli(['registry', 'add', host, '--username', 'bot', '--password', password]);
  assert.equal(asArgument.code, 2, 'a password as an argument is refused');

  assert.match(ok(await ts.cli(['registry', 'rm', host])).stdout, /removed registry/);
  assert.ok(!ok(await ts.cli(['registry', 'ls'])).stdout.includes(host));
  const gone = await ts.cli(['registry', 'rm', host]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /is not registered/);
});

test('notify add, ls, test (a signed webhook reaches a local receiver), rm', async (t) => {
  const receiver = await startReceiver(t, 200);
  const name = uniqueName('hook');
  const secret = `whsec-${uniqueName('s')}`;
  const added = ok(await ts.cli(['notify', 'add', name, '--kind', 'webhook', '--url', `${receiver.url}/hooks/flotilla?token=abc`, '--secret-stdin', '--events', 'updated,rolled_back'], { input: secret }));
  assert.match(added.stdout, new RegExp(`added webhook target ${name}`));
  assert.ok(!added.stdout.includes(secret));

  const table = ok(await ts.cli(['notify', 'ls'])).stdout;
  const row = table.split('\n').find((l) => l.startsWith(name)) ?? '';
  assert.match(row, /webhook\s+\S+\s+set\s+updated,rolled_back\s+yes\s+never/, table);
  assert.ok(!table.includes('token=abc') && !table.includes(secret), 'the URL\'s query or the secret is shown');

  const tested = ok(await ts.cli(['notify', 'test', name]));
  assert.match(tested.stdout, /delivery ok to .*: 1 attempt, status 200/);
  assert.equal(receiver.received.length, 1);
  const got = receiver.received[0]!;
  assert.equal(got.path, '/hooks/flotilla?token=abc');
  assert.equal(got.headers[EVENT_HEADER], 'test');
  assert.ok(verifyWebhookSignature({
    secret, body: got.body, signature: got.headers[SIGNATURE_HEADER] as string, timestamp: got.headers[TIMESTAMP_HEADER] as string, deliveryId: got.headers[DELIVERY_HEADER] as string,
  }), 'the delivery is signed with the secret');
  const afterTest = ok(await ts.cli(['notify', 'ls'])).stdout.split('\n').find((l) => l.startsWith(name)) ?? '';
  assert.match(afterTest, /\bok \d+s ago$/);

  ok(await ts.cli(['notify', 'rm', name]));
  assert.ok(!ok(await ts.cli(['notify', 'ls'])).stdout.includes(name));
  const gone = await ts.cli(['notify', 'test', name]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(name));
});

test('notify test exits 1 with the receiver\'s answer when the delivery fails; a bad --events is a usage error', async (t) => {
  const receiver = await startReceiver(t, 404);
  const name = uniqueName('hook');
  ok(await ts.cli(['notify', 'add', name, '--kind', 'ntfy', '--url', `${receiver.url}/topic`]));
  t.after(async () => {
    await ts.cli(['notify', 'rm', name]);
  });
  const failed = await ts.cli(['notify', 'test', name]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, /delivery failed to .* after 1 attempt: answered 404/);
  const json = parseJson<{ ok: boolean; status: number }>(await ts.cli(['notify', 'test', name, '--json']));
  assert.deepEqual([json.ok, json.status], [false, 404]);

  const bad = await ts.cli(['notify', 'add', uniqueName('x'), '--kind', 'webhook', '--url', receiver.url, '--events', 'updated,exploded']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--events .*unknown event exploded/);
  const badUrl = await ts.cli(['notify', 'add', uniqueName('x'), '--kind', 'webhook', '--url', 'ftp://example.com/x']);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.stderr, /only http and https/);
});

test('updates settings: shown without options, changed with them; a bad window exits 1 with the server\'s message naming it', async () => {
  const shown = ok(await ts.cli(['updates', 'settings'])).stdout;
  assert.match(shown, /Check interval:\s+6h/);
  assert.match(shown, /Window:\s+any time/);
  const set = ok(await ts.cli(['updates', 'settings', '--check-interval', '30m', '--window', '0 3 * * *', '--window-duration', '2h', '--stable', '15s'])).stdout;
  assert.match(set, /Check interval:\s+30m/);
  assert.match(set, /Window:\s+0 3 \* \* \*/);
  assert.match(set, /Window duration:\s+2h/);
  assert.match(set, /Stable:\s+15s/);
  const json = parseJson<{ checkIntervalMs: number; window: string }>(ok(await ts.cli(['updates', 'settings', '--json'])));
  assert.deepEqual([json.checkIntervalMs, json.window], [1_800_000, '0 3 * * *']);

  const bad = await ts.cli(['updates', 'settings', '--window', '0 25 * * *']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^flotilla: update window "0 25 \* \* \*" is not a valid cron expression/m);
  const noHost = await ts.cli(['updates', 'settings', '--host-window', 'no-such-host=0 4 * * *']);
  assert.equal(noHost.code, 1);
  assert.match(noHost.stderr, /hostWindows: no host "no-such-host"/);
  assert.match(ok(await ts.cli(['updates', 'settings'])).stdout, /Window:\s+0 3 \* \* \*/, 'nothing was stored by the bad changes');

  ok(await ts.cli(['updates', 'settings', '--check-interval', '6h', '--window', '', '--window-duration', '1h', '--stable', '10s']));
  assert.match(ok(await ts.cli(['updates', 'settings'])).stdout, /Window:\s+any time/);
});

test('updates policy sets and removes a container override and the default, seen in GET /updates/policies', async () => {
  const container = uniqueName('web');
  const policies = async () => (await fetch(`${ts.url}/api/v1/updates/policies`, { headers: { authorization: `Bearer ${await adminToken()}` } })).json() as Promise<{ defaultPolicy: string; overrides: Record<string, string> }>;
  assert.match(ok(await ts.cli(['updates', 'policy', container, 'pinned'])).stdout, new RegExp(`policy of ${container}: pinned`));
  assert.equal((await policies()).overrides[container], 'pinned');
  assert.match(ok(await ts.cli(['updates', 'policy'])).stdout, new RegExp(`${container}\\s+every host\\s+pinned`));
  ok(await ts.cli(['updates', 'policy', container, 'none']));
  assert.equal((await policies()).overrides[container], undefined);

  ok(await ts.cli(['updates', 'policy', '--default', 'auto']));
  assert.equal((await policies()).defaultPolicy, 'auto');
  assert.match(ok(await ts.cli(['updates', 'policy'])).stdout, /^default policy: auto/);
  ok(await ts.cli(['updates', 'policy', '--default', 'manual']));
  assert.equal((await policies()).defaultPolicy, 'manual');

  const unknownHost = await ts.cli(['updates', 'policy', container, 'auto', '--host', 'no-such-host']);
  assert.equal(unknownHost.code, 1);
  assert.match(unknownHost.stderr, /no-such-host/);
  assert.equal((await ts.cli(['updates', 'policy', container, 'sometimes'])).code, 2);
  assert.equal((await ts.cli(['updates', 'policy', container])).code, 2);
});

test('updates ls on an empty fleet, the check summary, history, and apply on an unknown host', async () => {
  assert.match(ok(await ts.cli(['updates', 'ls'])).stdout, /no containers checked yet/);
  assert.deepEqual(parseJson(ok(await ts.cli(['updates', 'ls', '--json']))), []);
  const check = ok(await ts.cli(['updates', 'check', '--no-auto']));
  assert.match(check.stdout, /^checked 0 containers on 0 hosts: 0 remote checks, 0 registry requests, 0 updates available, 0 errors in \d+ ms$/m);
  const summary = parseJson<{ containers: number; hosts: number }>(ok(await ts.cli(['updates', 'check', '--json'])));
  assert.deepEqual([summary.containers, summary.hosts], [0, 0]);
  const unknownCheck = await ts.cli(['updates', 'check', '--host', 'no-such-host']);
  assert.equal(unknownCheck.code, 1);
  assert.match(unknownCheck.stderr, /no-such-host/);
  assert.match(ok(await ts.cli(['updates', 'history'])).stdout, /no updates yet/);

  const apply = await ts.cli(['updates', 'apply', 'no-such-host', 'web']);
  assert.equal(apply.code, 1);
  assert.match(apply.stderr, /^flotilla: .*no-such-host/m);
});

/** Runs until stopped (quickly, on SIGTERM); with FAIL_ON_V2 set it exits at once on the lab's v2 image. */
const RUN = 'if [ -n "$FAIL_ON_V2" ] && grep -q v2 /etc/lab-release; then exit 3; fi; trap "exit 0" TERM; while sleep 1; do :; done';

test('with the lab: a container of a lab engine is checked and listed with its status, then updated with its steps streamed; a failed health gate rolls back with exit 1', { skip: lab ? false : 'lab not up' }, async (t) => {
  const node = lab!.nodes.find((n) => /^node\d+$/.test(n.name))!;
  const host = uniqueName('node');
  const name = uniqueName('upd');
  const fragile = uniqueName('fragile');
  ok(await ts.cli(['host', 'add', host, node.unix, '--environment', 'development']));
  ok(await ts.cli(['registry', 'add', lab!.registry.lab, '--insecure']));
  ok(await ts.cli(['updates', 'settings', '--stable', '2s']));
  t.after(async () => {
    // One hook, in this order: the container is removed through its host.
    await ts.cli(['container', 'rm', host, name, '--force']);
    await ts.cli(['container', 'rm', host, fragile, '--force']);
    await ts.cli(['updates', 'policy', name, 'none', '--host', host]);
    await ts.cli(['updates', 'settings', '--stable', '10s']);
    await ts.cli(['registry', 'rm', lab!.registry.lab]);
    await ts.cli(['host', 'rm', host]);
  });
  ok(await ts.cli(['container', 'create', host, '--image', lab!.images.busybox1, '--name', name, '--start', '--', 'sh', '-c', RUN]));
  ok(await ts.cli(['host', 'sync', host]));
  ok(await ts.cli(['updates', 'policy', name, 'manual', '--host', host]));

  const check = ok(await ts.cli(['updates', 'check', '--host', host, '--no-auto'], { timeoutMs: 120_000 }));
  assert.match(check.stdout, /^checked [1-9]\d* containers? on 1 host: [1-9]\d* remote checks?, [1-9]\d* registry requests?, /);
  type Row = { container: string; status: string; policy: string; policySource: string; currentDigest: string | null; availableDigest: string | null };
  const listed = parseJson<Row[]>(ok(await ts.cli(['updates', 'ls', '--host', host, '--json'])));
  const row = listed.find((r) => r.container === name);
  assert.deepEqual([row?.status, row?.policy, row?.policySource], ['up_to_date', 'manual', 'override'], JSON.stringify(listed));
  const digest = row!.currentDigest!.replace(/^sha256:/, '').slice(0, 12);
  const table = ok(await ts.cli(['updates', 'ls', '--host', host, '--status', 'up_to_date'])).stdout;
  assert.match(table, /^HOST\s+CONTAINER\s+IMAGE\s+STATUS\s+POLICY\s+CURRENT\s+AVAILABLE\s+CHECKED\s+NOTE$/m);
  const line = table.split('\n').find((l) => l.includes(name)) ?? '';
  assert.match(line, new RegExp(`^${host}\\s+${name}\\s+\\S+busybox:1\\s+up_to_date\\s+manual \\(override\\)\\s+${digest}\\s+${digest}\\s+\\d+s ago\\s+-$`), table);

  const same = ok(await ts.cli(['updates', 'apply', host, name], { timeoutMs: 120_000 }));
  assert.match(same.stderr, /^pull: pulling \S+busybox:1$/m);
  assert.match(same.stdout, new RegExp(`^${name} on ${host}: unchanged`));

  const moved = ok(await ts.cli(['updates', 'apply', host, name, '--image', lab!.images.busybox2], { timeoutMs: 120_000 }));
  for (const step of ['pull', 'stop', 'create', 'start', 'health']) assert.match(moved.stderr, new RegExp(`^${step}: `, 'm'), moved.stderr);
  assert.match(moved.stdout, new RegExp(`^${name} on ${host}: updated \\(${digest} → [0-9a-f]{12}\\) in [\\d.]+ s$`, 'm'), moved.stdout);

  // This one exits on the v2 image: the health gate fails and the old container is put back.
  ok(await ts.cli(['container', 'create', host, '--image', lab!.images.busybox1, '--name', fragile, '-e', 'FAIL_ON_V2=1', '--start', '--', 'sh', '-c', RUN]));
  const failed = await ts.cli(['updates', 'apply', host, fragile, '--image', lab!.images.busybox2], { timeoutMs: 120_000 });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /^rollback: /m);
  assert.match(failed.stdout, new RegExp(`^${fragile} on ${host}: rolled back .*\\n  reason: \\S`));

  const history = parseJson<Array<{ container: string; status: string }>>(ok(await ts.cli(['updates', 'history', '--host', host, '--json'])));
  assert.deepEqual(history.map((r) => [r.container, r.status]), [[fragile, 'rolled_back'], [name, 'updated'], [name, 'unchanged']]);
  assert.match(ok(await ts.cli(['updates', 'history', '--host', host, '--container', name])).stdout, new RegExp(`${name}\\s+\\S+busybox:2\\s+updated\\s+manual`));
});

/** An API token for direct REST reads, made once through the CLI. */
let token: string | undefined;
async function adminToken(): Promise<string> {
  token ??= ok(await ts.cli(['api-token', 'create', uniqueName('tok')])).stdout.trim();
  return token;
}
