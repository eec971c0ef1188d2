// src/version.ts (one version, stamped by an image build) and
// src/agent/health-file.ts (the agent image's HEALTHCHECK), without a lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveVersion, VERSION } from '../../src/version.ts';
import { ConfigError } from '../../src/config.ts';
import { AGENT_VERSION } from '../../src/agent/enroll.ts';
import { SERVER_VERSION } from '../../src/cluster/cluster.ts';
import { checkChannelHealth, healthFilePath, trackChannelHealth, type ChannelHealth } from '../../src/agent/health-file.ts';
import type { RunnerEvents } from '../../src/agent/runner.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const PKG = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');

test('the version is package.json\'s unless FLOTILLA_VERSION stamps another; agent and server report it', () => {
  assert.equal(resolveVersion({}, PKG), JSON.parse(PKG).version);
  assert.equal(resolveVersion({ FLOTILLA_VERSION: '' }, PKG), JSON.parse(PKG).version);
  assert.equal(resolveVersion({ FLOTILLA_VERSION: '0.2.0-rc.1+build.7' }, PKG), '0.2.0-rc.1+build.7');
  assert.throws(() => resolveVersion({ FLOTILLA_VERSION: '1.0 beta' }, PKG), (err: Error) => err instanceof ConfigError && /FLOTILLA_VERSION/.test(err.message));
  assert.throws(() => resolveVersion({}, '{"name":"x"}'), /no usable "version"/);
  assert.equal(AGENT_VERSION, VERSION);
  assert.equal(SERVER_VERSION, VERSION);
});

test('a process started with FLOTILLA_VERSION reports that version; a bad one stops it naming the variable', async () => {
  const script = `import { AGENT_VERSION } from ${JSON.stringify(path.join(ROOT, 'src/agent/enroll.ts'))}; console.log(AGENT_VERSION);`;
  const ok = await exec(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FLOTILLA_VERSION: '9.9.9-image' } });
  assert.equal(ok.stdout.trim(), '9.9.9-image');
  // The CLI, the OpenAPI document and the fleet endpoint's /version read the same one (no copy of the number).
  const cli = await exec(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), '--version'], { env: { ...process.env, FLOTILLA_VERSION: '9.9.9-image' } });
  assert.equal(cli.stdout.trim(), '9.9.9-image');
  const answers = `import { VERSION } from ${JSON.stringify(path.join(ROOT, 'src/api/app.ts'))}; import { versionAnswer } from ${JSON.stringify(path.join(ROOT, 'src/dockerapi/system-answers.ts'))}; console.log(VERSION, versionAnswer([]).Version);`;
  const both = await exec(process.execPath, ['--input-type=module', '-e', answers], { env: { ...process.env, FLOTILLA_VERSION: '9.9.9-image' } });
  assert.equal(both.stdout.trim(), '9.9.9-image flotilla-9.9.9-image');
  const bad = await exec(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FLOTILLA_VERSION: 'no spaces' } }).catch((e: { code: number; stderr: string }) => e);
  assert.notEqual((bad as { code: number }).code, 0);
  assert.match((bad as { stderr: string }).stderr, /FLOTILLA_VERSION/);
});

test('the channel health file follows the runner: starting, connected, lost, stopped; stale or foreign files are unhealthy', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-health-'));
  try {
    assert.match((await checkChannelHealth(dir)).message, /has not started/);
    // A file an earlier container left on the volume, claiming a connection.
    const leftover: ChannelHealth = { connected: true, reason: null, changedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), pid: 999_999_999, pidStart: '1' };
    fs.writeFileSync(healthFilePath(dir), JSON.stringify(leftover));
    assert.deepEqual(await checkChannelHealth(dir), { healthy: false, message: `the agent process that wrote ${healthFilePath(dir)} (pid 999999999) is gone` });

    const runner = new EventEmitter<RunnerEvents>();
    const tracker = trackChannelHealth(runner, dir, { refreshMs: 50 });
    assert.equal(trackChannelHealth(runner, dir), tracker, 'attaching twice is one tracker');
    await waitFor('starting', async () => /starting/.test((await checkChannelHealth(dir)).message));
    runner.emit('connected');
    await waitFor('healthy', async () => (await checkChannelHealth(dir)).healthy);
    const first = JSON.parse(fs.readFileSync(healthFilePath(dir), 'utf8')) as ChannelHealth;
    await waitFor('refreshed while connected', () => (JSON.parse(fs.readFileSync(healthFilePath(dir), 'utf8')) as ChannelHealth).updatedAt !== first.updatedAt);
    assert.match((await checkChannelHealth(dir, { now: Date.now() + 60_000 })).message, /has not updated/);
    runner.emit('disconnected', 'server closed the channel');
    await waitFor('lost', async () => /server closed the channel/.test((await checkChannelHealth(dir)).message));
    runner.emit('connected');
    await waitFor('healthy again', async () => (await checkChannelHealth(dir)).healthy);
    await tracker.stop();
    assert.match((await checkChannelHealth(dir)).message, /not connected to the server: stopped/);
    runner.emit('connected');
    assert.equal((await checkChannelHealth(dir)).healthy, false, 'a stopped tracker writes nothing more');
    assert.equal(runner.listenerCount('connected'), 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('`node src/agent/health-file.ts DIR` exits 0 when healthy and 1 with the reason when not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-health-'));
  const script = path.join(ROOT, 'src/agent/health-file.ts');
  try {
    const down = await exec(process.execPath, [script, dir]).catch((e: { code: number; stdout: string }) => e);
    assert.equal((down as { code: number }).code, 1);
    assert.match((down as { stdout: string }).stdout, /^unhealthy: no /);
    const runner = new EventEmitter<RunnerEvents>();
    const tracker = trackChannelHealth(runner, dir);
    runner.emit('connected');
    await waitFor('healthy', async () => (await checkChannelHealth(dir)).healthy);
    const up = await exec(process.execPath, [script, dir]);
    assert.match(up.stdout, /^healthy: connected to the server since /);
    await tracker.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
