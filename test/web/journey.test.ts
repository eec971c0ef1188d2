// The dashboard as a new user meets it, in real Chromium against a real server
// and lab engines: setup wizard → add a direct host → a container started with
// the docker CLI appears live → its logs stream as they are written → type in
// its exec terminal and read the answer → stop it from the UI → generate an
// enrollment token, start an agent with it, the host appears live → revoke it. Then a viewer: no actions shown, and the API
// refuses them anyway. Each page is checked with axe-core; screenshots go to docs/screenshots/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { labState, type LabState } from '../lab/fixture.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { apiClient } from '../helpers/server.ts';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { accessibilityProblems, launchBrowser, noChromium, screenshot, watchConsole } from './browser.ts';

const run = promisify(execFile);
const skip = noChromium() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const PASSWORD = 'correct horse battery staple';
const tag = `wj${process.pid}`;

describe('dashboard journey', { skip, concurrency: false }, () => {
  let handle: ServerHandle;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  let lab: LabState;
  let problems: string[];
  let agent: AgentProcess | undefined;
  const containers: string[] = [];

  before(async () => {
    lab = await labState();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-web-'));
    handle = await startServer(loadConfig({
      FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_AGENT_HEARTBEAT: '1s',
      FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_TEST_LOG ?? 'silent',
    }));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    problems = watchConsole(page);
  });

  after(async () => {
    await agent?.kill();
    for (const name of containers) await docker(lab.nodes[0]!.unix, 'rm', '-f', name).catch(() => undefined);
    await browser?.close();
    await handle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const docker = (host: string, ...args: string[]) => run('docker', ['-H', host, ...args], { timeout: 60_000 });
  const a11y = async (name: string) => {
    assert.deepEqual(await accessibilityProblems(page), [], `accessibility of the ${name} page`);
    await screenshot(page, name);
  };

  test('the root URL leads a new user to the setup wizard, which creates the admin and signs in', async () => {
    const res = await fetch(handle.url, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(await res.text(), /<script>(?!<\/)/, 'no inline script');
    await page.goto(handle.url);
    await page.waitForURL('**/setup');
    await a11y('setup');
    await page.getByLabel('Setup code').fill(handle.setupCode!);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password (at least 10 characters)').fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: /create admin/i }).click();
    await page.waitForURL(handle.url + '/');
    await page.getByText('admin (admin)').waitFor();
    await page.locator('.live-live').waitFor();
  });

  test('add a direct host from the Hosts page; it turns connected without a reload', async () => {
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByLabel('Name').fill('web1');
    await page.getByLabel('Docker API endpoint').fill(lab.nodes[0]!.unix);
    await page.getByRole('button', { name: 'Add host' }).click();
    await page.locator('tr[data-host="web1"] [data-status="connected"]').waitFor({ timeout: 30_000 });
    await a11y('hosts');
  });

  test('a container started with the docker CLI appears live; its logs stream; its terminal answers; stopping it from the UI stops it', async () => {
    await page.getByRole('link', { name: 'Containers' }).click();
    await page.getByRole('list', { name: 'containers' }).waitFor();
    const name = `${tag}-ticker`;
    containers.push(name);
    await docker(lab.nodes[0]!.unix, 'run', '-d', '--name', name, lab.images.busybox1, 'sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.5; done');
    const row = page.locator(`[data-container="${name}"]`);
    // Under a full-suite run other suites create hundreds of containers on the same engines: the event can queue behind theirs.
    await row.locator('[data-status="running"]').waitFor({ timeout: 60_000 });
    await a11y('containers');
    await row.getByRole('link', { name }).click();
    const logs = page.getByLabel('log lines');
    await logs.getByText(/tick-\d+/).first().waitFor({ timeout: 15_000 });
    const count = async () => Number(/tick-(\d+)\s*$/.exec((await logs.innerText()).trim())?.[1] ?? -1);
    const first = await count();
    // Two more lines arrive while we watch: the logs are followed, not fetched once.
    await page.waitForFunction((n) => {
      const doc = (globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document;
      const all = [...(doc.querySelector('[aria-label="log lines"]')?.textContent ?? '').matchAll(/tick-(\d+)/g)];
      return all.length > 0 && Number(all[all.length - 1]![1]) >= n + 2;
    }, first, { timeout: 15_000 });
    await a11y('container');
    // The exec terminal: type a command, read the shell's answer on the screen (not the echo of what was typed).
    await page.locator('section.terminal[data-state="open"]').waitFor({ timeout: 20_000 });
    const screen = () => page.locator('.terminal .xterm-rows').innerText();
    await waitFor('the shell prompt', async () => /#\s*$/m.test(await screen()) || undefined, 15_000);
    await page.locator('.termbox').click();
    await page.keyboard.type('echo journey-$((6*7))');
    await page.keyboard.press('Enter');
    await page.locator('.terminal .xterm-rows').getByText(/^journey-42$/).first().waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('dd [data-status="exited"]').waitFor({ timeout: 30_000 });
    const { stdout } = await docker(lab.nodes[0]!.unix, 'inspect', '-f', '{{.State.Status}}', name);
    assert.equal(stdout.trim(), 'exited');
  });

  test('an enrollment token from the UI enrolls an agent, which appears live; revoking it removes it', async () => {
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('button', { name: 'Generate enrollment token' }).click();
    const tokenBox = page.locator('[data-token]');
    await tokenBox.waitFor();
    const token = (await tokenBox.getAttribute('data-token'))!;
    const shown = await page.getByLabel('docker command').innerText();
    assert.ok(shown.includes(token), 'the docker run line carries the token');
    assert.match(shown, /docker run/);
    const node = lab.nodes[1]!;
    agent = spawnAgent({ netns: node.netns, env: { FLOTILLA_SERVER_ADDR: `${lab.net}.0.1:${handle.cluster!.port}`, FLOTILLA_ENROLL_TOKEN: token, FLOTILLA_HOST_NAME: `${tag}-agent`, FLOTILLA_DOCKER_HOST: node.unix } });
    const row = page.locator(`tr[data-host="${tag}-agent"]`);
    await row.locator('[data-status="connected"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(path.resolve(import.meta.dirname, '../../docs/screenshots'), 'agent-enrolled.png') });
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: `revoke ${tag}-agent` }).click();
    await row.waitFor({ state: 'detached', timeout: 20_000 });
  });

  test('the fleet overview shows the hosts and their containers', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator('tr[data-host="web1"] [data-status="connected"]').waitFor();
    await a11y('fleet');
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('table', { name: 'activity' }).getByText('admin: host.add').first().waitFor({ timeout: 10_000 });
    await a11y('activity');
  });

  test('a viewer sees no actions, and the API refuses them anyway', async () => {
    const adminToken = (await handle.store.users.createToken((await handle.store.users.get('admin'))!.id, 'test', undefined)).token;
    const admin = apiClient(handle.url, adminToken);
    assert.equal((await admin.post('/api/v1/users', { username: 'watcher', password: PASSWORD, role: 'viewer' })).status, 201);
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const viewer = await ctx.newPage();
    const viewerProblems = watchConsole(viewer);
    await viewer.goto(`${handle.url}/login`);
    await viewer.getByLabel('Username').fill('watcher');
    await viewer.getByLabel('Password').fill(PASSWORD);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByText('watcher (viewer)').waitFor();
    await viewer.getByRole('link', { name: 'Containers' }).click();
    const row = viewer.locator(`[data-container="${tag}-ticker"]`);
    await row.waitFor();
    assert.equal(await row.getByRole('button').count(), 0, 'no action buttons for a viewer');
    await viewer.getByRole('link', { name: 'Hosts' }).click();
    await viewer.locator('tr[data-host="web1"]').waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Add host' }).count(), 0);
    // The API refuses it anyway: the viewer's own session (cookie and CSRF token) asking to start the container.
    const status = await viewer.evaluate(async (name) => {
      const me = await (await fetch('/api/v1/auth/me')).json() as { csrfToken: string };
      const res = await fetch(`/api/v1/hosts/web1/containers/${name}/start`, { method: 'POST', headers: { 'x-flotilla-csrf': me.csrfToken } });
      return res.status;
    }, `${tag}-ticker`);
    assert.equal(status, 403);
    assert.deepEqual(viewerProblems, [], 'no page errors signed out or in');
    await ctx.close();
  });

  test('a browser session\'s change without the CSRF header is refused', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/v1/hosts/web1/sync', { method: 'POST' })).status);
    assert.equal(status, 403);
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });
});
