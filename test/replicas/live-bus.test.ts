// The dashboard's live bus with replicas (issue 13): what is published here goes
// to the peers, a peer's message joins this ring with a local id (Last-Event-ID
// stays per replica), the same message seen from two sources is shown once, and
// without peers (SQLite) nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LIVE_CHANNEL, LiveBus, type LiveMessage } from '../../src/api/live-bus.ts';
import { LocalReplicaBus, type BusListener, type ReplicaBus } from '../../src/replicas/event-bus.ts';

const silent = pino({ level: 'silent' });

/** A bus whose "peers" are the test: it records what is sent and hands in what a peer would. */
class FakePeers implements ReplicaBus {
  readonly replicaId = 'here';
  readonly hasPeers = true;
  readonly sent: { channel: string; payload: unknown }[] = [];
  private readonly listeners = new Map<string, Set<BusListener>>();
  async publish(channel: string, payload: unknown): Promise<void> {
    this.sent.push({ channel, payload });
  }
  subscribe(channel: string, fn: BusListener): () => void {
    const set = this.listeners.get(channel) ?? new Set();
    this.listeners.set(channel, set);
    set.add(fn);
    return () => set.delete(fn);
  }
  async close(): Promise<void> {}
  fromPeer(payload: unknown, from = 'peer-1'): void {
    for (const fn of this.listeners.get(LIVE_CHANNEL) ?? []) fn(payload, from);
  }
}

test('a peer\'s message joins the local ring with a local id and resumes by Last-Event-ID', () => {
  const live = new LiveBus();
  const peers = new FakePeers();
  live.shareWithReplicas(peers, silent);
  const seen: LiveMessage[] = [];
  live.subscribe((m) => seen.push(m));
  live.publish('audit', { action: 'a' });
  const firstId = live.idOf(seen[0]!);
  peers.fromPeer({ type: 'audit', at: '2026-01-01T00:00:00.000Z', data: { action: 'b' }, host: 'h1' });
  live.publish('audit', { action: 'c' });
  assert.deepEqual(seen.map((m) => [m.id, (m.data as { action: string }).action]), [[1, 'a'], [2, 'b'], [3, 'c']]);
  assert.equal(seen[1]!.host, 'h1');
  assert.equal(seen[1]!.at, '2026-01-01T00:00:00.000Z', 'the time it happened on the peer');
  assert.deepEqual(live.since(firstId)!.map((m) => m.id), [2, 3]);
  // Only local messages are sent on, without their local id.
  assert.deepEqual(peers.sent.map((s) => (s.payload as { data: { action: string } }).data.action), ['a', 'c']);
  assert.ok(peers.sent.every((s) => s.channel === LIVE_CHANNEL && !('id' in (s.payload as object))));
});

test('the same Docker event reported by two replicas is shown once; a replica\'s own repeats are not folded', () => {
  const live = new LiveBus();
  const peers = new FakePeers();
  live.shareWithReplicas(peers, silent);
  const seen: LiveMessage[] = [];
  live.subscribe((m) => seen.push(m));
  const event = { Type: 'container', Action: 'start', id: 'abc', timeNano: 1 };
  live.publish('docker', event, { host: 'direct1' });
  peers.fromPeer({ type: 'docker', host: 'direct1', at: new Date().toISOString(), data: event }, 'peer-1');
  peers.fromPeer({ type: 'docker', host: 'direct1', at: new Date().toISOString(), data: event }, 'peer-2');
  const other = { ...event, timeNano: 2 };
  peers.fromPeer({ type: 'docker', host: 'direct1', at: new Date().toISOString(), data: other }, 'peer-1');
  live.publish('docker', other, { host: 'direct1' });
  assert.equal(seen.length, 2, 'each event once');
  assert.equal(peers.sent.length, 1, 'one the peer had already sent is not sent back');
  live.publish('host.status', { name: 'x', to: 'online' });
  live.publish('host.status', { name: 'x', to: 'online' });
  assert.equal(seen.filter((m) => m.type === 'host.status').length, 2, 'local repeats stay as they were');
  assert.deepEqual(seen.map((m) => m.id), [1, 2, 3, 4], 'no gaps in the local sequence');
});

test('without peers (SQLite) the bus is the single-server one', () => {
  const live = new LiveBus();
  live.shareWithReplicas(new LocalReplicaBus(), silent);
  const seen: LiveMessage[] = [];
  live.subscribe((m) => seen.push(m));
  live.publish('docker', { id: 1 }, { host: 'h' });
  live.publish('docker', { id: 1 }, { host: 'h' });
  assert.equal(seen.length, 2);
});
