// Update policy resolution (SPEC S15): label > override > default > manual, bad
// values with warnings, digest references pinned; and when an update may run
// (paused hosts and autonomous agents never, SPEC A5; windows for the scheduler).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUpdatePolicy, mayUpdateNow, isDigestReference, type PolicyInput } from '../../src/updates/policy.ts';
import { withCurrentPolicy } from '../../src/updates/detect.ts';
import type { UpdateCheckRow } from '../../src/store/updates-repo.ts';

const DIGEST = 'sha256:' + 'a'.repeat(64);
const base: PolicyInput = { labels: {}, containerName: 'web', overrides: {} };

test('precedence: label > per-container override > server default > manual', () => {
  const rows: [Partial<PolicyInput>, string, string][] = [
    [{ labels: { 'flotilla.policy': 'pinned' }, overrides: { web: 'auto' }, defaultPolicy: 'auto' }, 'pinned', 'label'],
    [{ overrides: { web: 'auto' }, defaultPolicy: 'pinned' }, 'auto', 'override'],
    [{ overrides: { other: 'auto' }, defaultPolicy: 'pinned' }, 'pinned', 'default'],
    [{ defaultPolicy: 'auto' }, 'auto', 'default'],
    [{}, 'manual', 'fallback'],
    [{ defaultPolicy: '' }, 'manual', 'fallback'],
    [{ labels: { 'flotilla.policy': ' Auto ' } }, 'auto', 'label'],
  ];
  for (const [input, policy, source] of rows) {
    const got = resolveUpdatePolicy({ ...base, ...input });
    assert.deepEqual(got, { policy, source }, JSON.stringify(input));
  }
});

test('a bad label value means manual, with a warning naming the label and the value', () => {
  const got = resolveUpdatePolicy({ ...base, labels: { 'flotilla.policy': 'yolo' }, overrides: { web: 'auto' }, defaultPolicy: 'auto' });
  assert.equal(got.policy, 'manual');
  assert.equal(got.source, 'label');
  assert.match(got.warning!, /flotilla\.policy/);
  assert.match(got.warning!, /"yolo"/);
});

test('an empty label value is a bad value, not an absent label', () => {
  const got = resolveUpdatePolicy({ ...base, labels: { 'flotilla.policy': '' }, defaultPolicy: 'auto' });
  assert.equal(got.policy, 'manual');
  assert.match(got.warning!, /invalid value ""/);
});

test('a bad override falls through to the default, a bad default to manual, each with a warning', () => {
  const a = resolveUpdatePolicy({ ...base, overrides: { web: 'sometimes' }, defaultPolicy: 'auto' });
  assert.equal(a.policy, 'auto');
  assert.equal(a.source, 'default');
  assert.match(a.warning!, /override for container "web".*"sometimes"/);

  const b = resolveUpdatePolicy({ ...base, overrides: { web: 'sometimes' }, defaultPolicy: 'always' });
  assert.deepEqual([b.policy, b.source], ['manual', 'fallback']);
  assert.match(b.warning!, /"sometimes"/);
  assert.match(b.warning!, /default update policy.*"always"/);
});

test('a host-qualified override wins over the bare name, only for that host', () => {
  const overrides = { 'h1/web': 'pinned', web: 'auto' };
  assert.deepEqual(resolveUpdatePolicy({ ...base, overrides, hostId: 'h1' }), { policy: 'pinned', source: 'override' });
  assert.deepEqual(resolveUpdatePolicy({ ...base, overrides, hostId: 'h2' }), { policy: 'auto', source: 'override' });
  assert.deepEqual(resolveUpdatePolicy({ ...base, overrides }), { policy: 'auto', source: 'override' });
});

test('Docker\'s leading slash in a container name does not hide its override', () => {
  assert.deepEqual(resolveUpdatePolicy({ ...base, containerName: '/web', overrides: { web: 'auto' } }), { policy: 'auto', source: 'override' });
});

test('an image referenced by digest is pinned whatever the label, override or default say', () => {
  for (const image of [`nginx@${DIGEST}`, `registry.local:5000/team/app:1.2@${DIGEST}`]) {
    assert.ok(isDigestReference(image), image);
    const got = resolveUpdatePolicy({ ...base, image, overrides: { web: 'auto' }, defaultPolicy: 'auto' });
    assert.deepEqual(got, { policy: 'pinned', source: 'digest' });
  }
  const labelled = resolveUpdatePolicy({ ...base, image: `nginx@${DIGEST}`, labels: { 'flotilla.policy': 'auto' } });
  assert.equal(labelled.policy, 'pinned');
  assert.match(labelled.warning!, /referenced by digest/);
  for (const image of ['nginx', 'nginx:1.27', 'registry.local:5000/app:latest', 'app@sha256:short']) {
    assert.equal(isDigestReference(image), false, image);
    assert.notEqual(resolveUpdatePolicy({ ...base, image }).source, 'digest');
  }
});

test('paused hosts and autonomous agents never update, whatever the policy or trigger', () => {
  for (const trigger of ['auto', 'manual'] as const) {
    const autonomous = mayUpdateNow({ policy: 'auto', trigger, hostPaused: false, agentAutonomous: true });
    assert.deepEqual([autonomous.allowed, !autonomous.allowed && autonomous.blockedBy], [false, 'autonomous']);
    const paused = mayUpdateNow({ policy: 'auto', trigger, hostPaused: true, agentAutonomous: false });
    assert.deepEqual([paused.allowed, !paused.allowed && paused.blockedBy], [false, 'paused']);
    const pinned = mayUpdateNow({ policy: 'pinned', trigger, hostPaused: false, agentAutonomous: false });
    assert.deepEqual([pinned.allowed, !pinned.allowed && pinned.blockedBy], [false, 'pinned']);
  }
});

test('the scheduler updates only auto containers inside the window; a user may update a manual one at any time', () => {
  const window = '0 3 * * *';
  const inside = new Date('2025-03-04T03:30:00Z');
  const outside = new Date('2025-03-04T05:00:00Z');
  const ctx = { hostPaused: false, agentAutonomous: false, window };
  assert.deepEqual(mayUpdateNow({ ...ctx, policy: 'auto', trigger: 'auto', at: inside }), { allowed: true });
  const out = mayUpdateNow({ ...ctx, policy: 'auto', trigger: 'auto', at: outside });
  assert.equal(out.allowed, false);
  assert.ok(!out.allowed && out.blockedBy === 'window');
  assert.equal(!out.allowed && out.nextWindowAt?.toISOString(), '2025-03-05T03:00:00.000Z');
  const manual = mayUpdateNow({ ...ctx, policy: 'manual', trigger: 'auto', at: inside });
  assert.ok(!manual.allowed && manual.blockedBy === 'policy');
  assert.deepEqual(mayUpdateNow({ ...ctx, policy: 'manual', trigger: 'manual', at: outside }), { allowed: true });
  assert.deepEqual(mayUpdateNow({ policy: 'auto', trigger: 'auto', hostPaused: false, agentAutonomous: false }), { allowed: true }, 'no window: always open');
});

test('a window that does not parse blocks automatic updates and says why', () => {
  const got = mayUpdateNow({ policy: 'auto', trigger: 'auto', hostPaused: false, agentAutonomous: false, window: '0 25 * * *' });
  assert.ok(!got.allowed && got.blockedBy === 'window');
  assert.match(!got.allowed ? got.reason : '', /"0 25 \* \* \*"/);
});

describe('a stored check under the policy now in force (withCurrentPolicy)', () => {
  const row = (over: Partial<UpdateCheckRow>): UpdateCheckRow => ({
    host_id: 'h1', container_id: 'c1', container_name: 'web', image_ref: 'reg/app:1', current_digest: 'sha256:a', available_digest: 'sha256:b',
    status: 'update_available', policy: 'manual', policy_source: 'default', warning: null, error: null, checked_at: '2026-01-01T00:00:00.000Z', ...over,
  });

  test('an override set after the check: pinned at once, and back to update_available when removed', () => {
    const pinned = withCurrentPolicy(row({}), { overrides: { 'h1/web': 'pinned' }, defaultPolicy: 'manual' });
    assert.equal(pinned.policy, 'pinned');
    assert.equal(pinned.policy_source, 'override');
    assert.equal(pinned.status, 'pinned');
    const back = withCurrentPolicy(pinned, { overrides: {}, defaultPolicy: 'auto' });
    assert.deepEqual([back.policy, back.policy_source, back.status], ['auto', 'default', 'update_available']);
  });

  test('up to date stays up to date; label and digest policies are not the server\'s to change', () => {
    assert.equal(withCurrentPolicy(row({ status: 'up_to_date' }), { overrides: { web: 'pinned' } }).status, 'up_to_date');
    const label = row({ policy: 'auto', policy_source: 'label' });
    assert.equal(withCurrentPolicy(label, { overrides: { web: 'pinned' } }), label);
    const digest = row({ policy: 'pinned', policy_source: 'digest', status: 'pinned' });
    assert.equal(withCurrentPolicy(digest, { overrides: { web: 'auto' } }), digest);
  });
});
