// Update notifications delivered to real HTTP receivers on 127.0.0.1: the signed
// webhook, Slack and ntfy formats as received, retries (5xx, 429 Retry-After; none
// on 400), unreachable and hanging targets, subscriptions, and logs without secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { openSqliteStore } from '../../src/store/db.ts';
import { SecretBox } from '../../src/store/secret-box.ts';
import { NotificationTargetsRepo, type NewNotificationTarget } from '../../src/store/notifications-repo.ts';
import { createLogger } from '../../src/log.ts';
import { Notifier, verifyWebhookSignature, type UpdateNotice } from '../../src/updates/notify/index.ts';
import { NotFound } from '../../src/errors.ts';

interface Received { url: string; headers: http.IncomingHttpHeaders; body: string; at: number }
type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A local HTTP receiver; `answer` decides each reply from the request number (1-based). */
async function receiver(answer: (n: number, req: Received) => Answer = () => ({ status: 200 })) {
  const requests: Received[] = [];
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(r);
      const a = answer(requests.length, r);
      if (a === 'hang') { hung.push(res); return; }
      res.writeHead(a.status, a.headers).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, requests,
    close: async () => { for (const r of hung) r.destroy(); server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

async function closedPortUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}/hook`;
}

async function setup(targets: NewNotificationTarget[], retry = { baseDelayMs: 20, maxDelayMs: 80, timeoutMs: 2000, maxAttempts: 4 }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-notify-'));
  const db = await openSqliteStore(':memory:');
  const repo = new NotificationTargetsRepo(db, SecretBox.openOrCreate(path.join(dir, 'secret.key')));
  const ids: Record<string, string> = {};
  for (const t of targets) ids[t.name] = (await repo.add(t)).id;
  const logs: string[] = [];
  const log = createLogger('debug', { write: (line: string) => { logs.push(line); } });
  const notifier = new Notifier({ targets: repo, log, retry });
  return {
    repo, notifier, ids, logs,
    cleanup: async () => { await notifier.close(); await db.destroy(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

const notice = (kind: UpdateNotice['kind'], name = 'app'): UpdateNotice => ({
  kind, at: '2025-03-04T03:00:00.000Z', host: { id: 'h1', name: 'web1' }, container: { id: `c-${name}`, name }, image: 'nginx:1.27',
  fromDigest: 'sha256:' + '1'.repeat(64), toDigest: 'sha256:' + '2'.repeat(64),
  ...(kind === 'rolled_back' ? { reason: 'health check failed' } : {}), ...(kind === 'check_failed' ? { error: 'registry answered 401' } : {}),
});

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SECRET = 'whsec-0123456789abcdef';

test('a webhook arrives signed: the receiver verifies it with the secret, a tampered body fails', async () => {
  const rx = await receiver();
  const { notifier, ids, cleanup } = await setup([{ name: 'hook', kind: 'webhook', url: `${rx.base}/in`, secret: SECRET }]);
  try {
    const [result] = await notifier.notify([notice('update_available', 'a'), notice('update_available', 'b')]);
    assert.equal(result?.ok, true);
    assert.equal(rx.requests.length, 1, 'one message for the whole batch');
    const r = rx.requests[0]!;
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-flotilla-event'], 'update_available');
    assert.equal(r.headers['x-flotilla-delivery'], result!.deliveryId);
    assert.match(String(r.headers['x-flotilla-signature']), /^sha256=[0-9a-f]{64}$/);
    const signed = {
      secret: SECRET, body: r.body, signature: r.headers['x-flotilla-signature'] as string,
      timestamp: r.headers['x-flotilla-timestamp'] as string, deliveryId: r.headers['x-flotilla-delivery'] as string,
    };
    assert.equal(verifyWebhookSignature(signed), true);
    assert.equal(verifyWebhookSignature({ ...signed, body: r.body.replace('"a"', '"x"') }), false, 'tampered body');
    assert.equal(verifyWebhookSignature({ ...signed, secret: 'other' }), false, 'wrong secret');
    assert.equal(verifyWebhookSignature({ ...signed, deliveryId: 'another' }), false, 'swapped delivery id');
    assert.equal(verifyWebhookSignature({ ...signed, now: new Date(Date.now() + 3_600_000) }), false, 'stale timestamp');
    const body = JSON.parse(r.body);
    assert.equal(body.event, 'update_available');
    assert.deepEqual(body.notices.map((n: UpdateNotice) => n.container?.name), ['a', 'b']);
    assert.deepEqual(notifier.lastDelivery(ids.hook!)?.ok, true);
  } finally {
    await cleanup();
    await rx.close();
  }
});

test('Slack receives { text, blocks } and ntfy a text body with Title, Tags, Priority and the bearer token', async () => {
  const slack = await receiver();
  const ntfy = await receiver();
  const { notifier, cleanup } = await setup([
    { name: 'slack', kind: 'slack', url: `${slack.base}/services/T/B/xyz` },
    { name: 'ntfy', kind: 'ntfy', url: `${ntfy.base}/flotilla-updates`, secret: 'tk_ntfytoken123' },
  ]);
  try {
    const results = await notifier.notify([notice('rolled_back', '<app>')]);
    assert.deepEqual(results.map((r) => r.ok), [true, true]);
    const s = JSON.parse(slack.requests[0]!.body);
    assert.equal(slack.requests[0]!.headers['content-type'], 'application/json');
    assert.match(s.text, /Update rolled back/);
    assert.match(s.text, /web1\/&lt;app&gt;: update of nginx:1\.27 rolled back: health check failed/);
    assert.equal(s.blocks[0].type, 'header');
    assert.equal(s.blocks[1].type, 'section');

    const n = ntfy.requests[0]!;
    assert.equal(n.url, '/flotilla-updates');
    assert.equal(n.headers.title, 'Flotilla: Update rolled back');
    assert.equal(n.headers.tags, 'rewind,flotilla');
    assert.equal(n.headers.priority, '4');
    assert.equal(n.headers.authorization, 'Bearer tk_ntfytoken123');
    assert.match(String(n.headers['content-type']), /^text\/plain/);
    assert.match(n.body, /^web1\/<app>: update of nginx:1\.27 rolled back: health check failed \(sha256:111111111111 → sha256:222222222222\)$/);
  } finally {
    await cleanup();
    await slack.close();
    await ntfy.close();
  }
});

test('credentials in a target URL are sent as basic auth, not in the URL', async () => {
  const rx = await receiver();
  const url = new URL(`${rx.base}/topic`);
  url.username = 'flotilla';
  url.password = 'p@ss word';
  const { notifier, cleanup } = await setup([{ name: 'ntfy', kind: 'ntfy', url: url.href }]);
  try {
    const [r] = await notifier.notify([notice('updated')]);
    assert.equal(r?.ok, true, r?.error);
    assert.equal(rx.requests[0]!.url, '/topic');
    assert.equal(rx.requests[0]!.headers.authorization, `Basic ${Buffer.from('flotilla:p@ss word').toString('base64')}`);
  } finally {
    await cleanup();
    await rx.close();
  }
});

test('a 500 is retried until it succeeds; a 400 is not retried', async () => {
  const flaky = await receiver((n) => (n < 3 ? { status: 500, body: 'busy' } : { status: 204 }));
  const refusing = await receiver(() => ({ status: 400, body: 'bad payload' }));
  const { notifier, ids, cleanup } = await setup([
    { name: 'flaky', kind: 'webhook', url: `${flaky.base}/h` },
    { name: 'refusing', kind: 'webhook', url: `${refusing.base}/h` },
  ]);
  try {
    const results = await notifier.notify([notice('updated')]);
    const byName = Object.fromEntries(results.map((r) => [r.targetName, r]));
    assert.deepEqual([byName.flaky?.ok, byName.flaky?.attempts, flaky.requests.length], [true, 3, 3]);
    const ids3 = new Set(flaky.requests.map((r) => r.headers['x-flotilla-delivery']));
    assert.equal(ids3.size, 1, 'retries carry the same delivery id');
    assert.deepEqual([byName.refusing?.ok, byName.refusing?.attempts, byName.refusing?.status, refusing.requests.length], [false, 1, 400, 1]);
    assert.match(byName.refusing!.error!, /answered 400: bad payload/);
    const last = notifier.lastDelivery(ids.refusing!)!;
    assert.deepEqual([last.ok, last.attempts, last.status, last.event], [false, 1, 400, 'updated']);
    assert.ok(!Number.isNaN(Date.parse(last.at)));
  } finally {
    await cleanup();
    await flaky.close();
    await refusing.close();
  }
});

test('a 429 with Retry-After is retried after the time it asks for, not sooner', async () => {
  const limited = await receiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
  const { notifier, cleanup } = await setup([{ name: 'limited', kind: 'ntfy', url: `${limited.base}/t` }]);
  try {
    const [r] = await notifier.notify([notice('update_available')]);
    assert.deepEqual([r?.ok, r?.attempts], [true, 2]);
    const gap = limited.requests[1]!.at - limited.requests[0]!.at;
    assert.ok(gap >= 950, `waited ${gap} ms (backoff alone would be under 80 ms)`);
  } finally {
    await cleanup();
    await limited.close();
  }
});

test('an unreachable or hanging target neither throws nor holds up the others', async () => {
  const good = await receiver();
  const hanging = await receiver(() => 'hang');
  const { notifier, cleanup } = await setup([
    { name: 'down', kind: 'webhook', url: await closedPortUrl() },
    { name: 'good', kind: 'slack', url: `${good.base}/s` },
    { name: 'hanging', kind: 'webhook', url: `${hanging.base}/h` },
  ], { baseDelayMs: 20, maxDelayMs: 40, timeoutMs: 400, maxAttempts: 2 });
  try {
    const started = Date.now();
    notifier.notifySoon([notice('check_failed')]);
    assert.ok(Date.now() - started < 50, 'notifySoon returns at once');
    await until('the good target to receive', () => good.requests.length === 1);
    assert.equal(hanging.requests.length >= 1, true);
    const results = await notifier.notify([notice('updated')]);
    const byName = Object.fromEntries(results.map((r) => [r.targetName, r]));
    assert.equal(byName.good?.ok, true);
    assert.deepEqual([byName.down?.ok, byName.down?.attempts], [false, 2]);
    assert.match(byName.down!.error!, /network error: .*ECONNREFUSED/);
    assert.deepEqual([byName.hanging?.ok, byName.hanging?.attempts], [false, 2]);
    assert.match(byName.hanging!.error!, /no answer within 400 ms/);
    await notifier.idle();
  } finally {
    await cleanup();
    await good.close();
    await hanging.close();
  }
});

test('only subscribed kinds are delivered, one message per kind; disabled targets get none', async () => {
  const all = await receiver();
  const some = await receiver();
  const off = await receiver();
  const { notifier, cleanup } = await setup([
    { name: 'all', kind: 'webhook', url: `${all.base}/h` },
    { name: 'some', kind: 'webhook', url: `${some.base}/h`, events: ['rolled_back', 'check_failed'] },
    { name: 'off', kind: 'webhook', url: `${off.base}/h`, enabled: false },
  ]);
  try {
    await notifier.notify([notice('update_available', 'a'), notice('updated', 'b'), notice('update_available', 'c'), notice('check_failed', 'd')]);
    assert.deepEqual(all.requests.map((r) => r.headers['x-flotilla-event']).sort(), ['check_failed', 'update_available', 'updated']);
    assert.deepEqual(some.requests.map((r) => r.headers['x-flotilla-event']), ['check_failed']);
    assert.equal(off.requests.length, 0);
    assert.equal(all.requests[0]!.headers['x-flotilla-signature'], undefined, 'no secret, no signature');
    assert.deepEqual(await notifier.notify([]), []);
  } finally {
    await cleanup();
    await all.close();
    await some.close();
    await off.close();
  }
});

test('test(target) sends a test message, even to a disabled target, and returns the result', async () => {
  const rx = await receiver();
  const { notifier, ids, cleanup } = await setup([{ name: 'hook', kind: 'webhook', url: `${rx.base}/h`, secret: SECRET, enabled: false }]);
  try {
    const r = await notifier.test('hook');
    assert.deepEqual([r.ok, r.event, r.attempts], [true, 'test', 1]);
    const body = JSON.parse(rx.requests[0]!.body);
    assert.deepEqual([body.event, body.notices], ['test', []]);
    assert.equal(notifier.deliveryStatus()[ids.hook!]?.event, 'test');
    await assert.rejects(notifier.test('nope'), NotFound);
  } finally {
    await cleanup();
    await rx.close();
  }
});

test('logs name the target and scheme://host, never URL tokens or secrets, even when the receiver echoes them', async () => {
  const TOKEN = 'T0K-path-secret-5e1d';
  const QUERY = 'Q-query-secret-a9';
  const echo = await receiver((_n, req) => ({
    status: 500, body: `no hook at ${req.url} (token ${req.url.split('/').pop()?.split('?')[0]}) auth=${String(req.headers.authorization)}`,
  }));
  const { notifier, logs, cleanup } = await setup([
    { name: 'echo-hook', kind: 'webhook', url: `${echo.base}/hooks/${TOKEN}?key=${QUERY}`, secret: SECRET },
    { name: 'echo-ntfy', kind: 'ntfy', url: `${echo.base}/${TOKEN}-topic`, secret: 'tk_bearer_secret_99' },
    { name: 'down', kind: 'webhook', url: `http://user:pa55word@127.0.0.1:1/${TOKEN}?key=${QUERY}` },
  ], { baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 1000, maxAttempts: 2 });
  try {
    const results = await notifier.notify([notice('update_available')]);
    assert.equal(results.filter((r) => !r.ok).length, 3);
    const out = logs.join('');
    assert.match(out, /notification delivery failed/);
    assert.match(out, /"target":"echo-hook"/);
    assert.ok(out.includes(`"url":"${echo.base}/…"`));
    for (const s of [TOKEN, QUERY, SECRET, 'tk_bearer_secret_99', 'pa55word']) {
      assert.ok(!out.includes(s), `logs hold ${s}`);
      assert.ok(!JSON.stringify(results).includes(s), `results hold ${s}`);
      assert.ok(!JSON.stringify(notifier.deliveryStatus()).includes(s), `status holds ${s}`);
    }
  } finally {
    await cleanup();
    await echo.close();
  }
});

test('Retry-After is read as seconds or an HTTP date; backoff doubles within its jitter', async () => {
  const { parseRetryAfter, backoff } = await import('../../src/updates/notify/deliver.ts');
  const now = Date.parse('2025-03-04T03:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Tue, 04 Mar 2025 03:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Tue, 04 Mar 2025 02:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
  for (let attempt = 1; attempt <= 8; attempt++) {
    const d = backoff(attempt, { baseDelayMs: 100, maxDelayMs: 2000 });
    const exp = Math.min(2000, 100 * 2 ** (attempt - 1));
    assert.ok(d >= exp / 2 && d <= exp, `attempt ${attempt}: ${d}`);
  }
});
