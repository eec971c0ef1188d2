// The live stream (GET /api/v1/events/stream, server-sent events): what it
// carries, filters, Last-Event-ID resume without loss, `reset` when resuming is
// no longer possible, audit records only for those who may read them, and a
// client that stops reading is dropped instead of being buffered for without bound.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { labState } from '../lab/fixture.ts';

interface Sse { event: string; id?: string; data: any }

/** Reads a stream's messages as they come; `close()` ends it. */
function openStream(srv: TestServer, token: string, query = '', headers: Record<string, string> = {}) {
  const ctl = new AbortController();
  const messages: Sse[] = [];
  let ended = false;
  const done = (async () => {
    const res = await fetch(`${srv.url}/api/v1/events/stream${query}`, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    let buf = '';
    try {
      for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const m: Partial<Sse> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) m.event = line.slice(7);
            else if (line.startsWith('id: ')) m.id = line.slice(4);
            else if (line.startsWith('data: ')) m.data = JSON.parse(line.slice(6));
          }
          if (m.event) messages.push(m as Sse);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return { messages, close: () => ctl.abort(), done, get ended() { return ended; } };
}

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv?.close();
});

test('status changes, Docker events and audit records arrive live, each with an id', async () => {
  const lab = await labState().catch(() => undefined);
  const s = openStream(srv, srv.admin.token);
  await waitFor('ready', () => s.messages.some((m) => m.event === 'ready'));
  const name = `live${process.pid}`;
  const endpoint = lab?.nodes[0]?.unix ?? 'tcp://127.0.0.1:1';
  assert.equal((await srv.admin.post('/api/v1/hosts', { name, endpoint })).status, 201);
  const audit = await waitFor('the host.add audit record', () => s.messages.find((m) => m.event === 'audit' && m.data.data.action === 'host.add'));
  assert.match(audit.id!, /^[0-9a-z]+-\d+$/);
  const status = await waitFor('the host\'s status change', () => s.messages.find((m) => m.event === 'host.status' && m.data.host === name), 20_000);
  assert.equal(status.data.data.from, 'pending');
  s.close();
  await srv.admin.request('DELETE', `/api/v1/hosts/${name}`);
});

test('filters by type and host', async () => {
  const s = openStream(srv, srv.admin.token, '?types=host.status&hosts=only-this');
  await waitFor('ready', () => s.messages.some((m) => m.event === 'ready'));
  srv.handle.live.publish('host.status', { to: 'connected' }, { host: 'other' });
  srv.handle.live.publish('audit', { action: 'x' });
  srv.handle.live.publish('host.status', { to: 'connected' }, { host: 'only-this' });
  await waitFor('the matching message', () => s.messages.some((m) => m.event === 'host.status'));
  assert.deepEqual(s.messages.filter((m) => m.event !== 'ready').map((m) => m.data.host), ['only-this']);
  s.close();
});

test('Last-Event-ID resumes with exactly what was missed; an unknown id gets reset', async () => {
  const first = openStream(srv, srv.admin.token, '?types=host.status');
  await waitFor('ready', () => first.messages.some((m) => m.event === 'ready'));
  srv.handle.live.publish('host.status', { n: 1 }, { host: 'h' });
  const seen = await waitFor('message 1', () => first.messages.find((m) => m.data?.data?.n === 1));
  first.close();
  for (const n of [2, 3, 4]) srv.handle.live.publish('host.status', { n }, { host: 'h' });
  const again = openStream(srv, srv.admin.token, '?types=host.status', { 'last-event-id': seen.id! });
  await waitFor('the three missed messages', () => again.messages.filter((m) => m.event === 'host.status').length >= 3);
  assert.deepEqual(again.messages.filter((m) => m.event === 'host.status').map((m) => m.data.data.n), [2, 3, 4]);
  again.close();
  const stale = openStream(srv, srv.admin.token, '?lastEventId=oldepoch-5');
  const reset = await waitFor('reset', () => stale.messages.find((m) => m.event === 'reset'));
  assert.match(reset.data.reason, /reload/);
  stale.close();
});

test('audit records are only streamed to those who may read the audit log', async () => {
  const viewer = await srv.userWithRole('viewer');
  const s = openStream(srv, viewer.token);
  await waitFor('ready', () => s.messages.some((m) => m.event === 'ready'));
  srv.handle.live.publish('audit', { action: 'secret.thing' });
  srv.handle.live.publish('host.status', { marker: true }, { host: 'h' });
  await waitFor('the status message', () => s.messages.some((m) => m.event === 'host.status'));
  assert.equal(s.messages.filter((m) => m.event === 'audit').length, 0);
  s.close();
});

test('a client that stops reading is dropped with a `dropped` event; the server goes on', async () => {
  // Read nothing while ~24 MB are published: loopback buffers fill, then the backlog passes the bound.
  const res = await fetch(`${srv.url}/api/v1/events/stream?types=host.status`, { headers: { authorization: `Bearer ${srv.admin.token}` } });
  const reader = res.body!.getReader();
  await new Promise((r) => setTimeout(r, 100));
  const big = 'x'.repeat(2000);
  const before = srv.handle.live.subscriberCount;
  for (let i = 0; i < 12_000; i++) srv.handle.live.publish('host.status', { i, big }, { host: 'h' });
  await waitFor('the slow client unsubscribed', () => srv.handle.live.subscriberCount < before, 10_000);
  const health = await fetch(`${srv.url}/healthz`);
  assert.equal(health.status, 200);
  // What it gets when it reads again: some messages, then the notice, then the end (not all 12,000).
  const dec = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  const count = (text.match(/event: host.status/g) ?? []).length;
  assert.ok(count < 12_000, `got ${count} of 12000 messages`);
  assert.match(text, /event: dropped/);
});
