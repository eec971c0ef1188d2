// The Images & volumes and Settings pages in real Chromium against a real
// server and a lab engine of this test's own (so pulls, prunes and removals
// touch nobody else's state): images listed, a network and a volume created
// and removed, an image pulled with its progress shown; a user created, an API
// token shown once, used, revoked. A viewer sees no create/remove actions.
// axe-core on each page; screenshots to docs/screenshots/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { lab, labState, type LabNode, type LabState } from '../lab/fixture.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { apiClient, waitFor, type Api } from '../helpers/server.ts';
import { accessibilityProblems, launchBrowser, noChromium, screenshot, watchConsole } from './browser.ts';

const run = promisify(execFile);
const skip = noChromium() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const PASSWORD = 'correct horse battery staple';
const tag = `rs${process.pid % 10000}`;
const HOST = `${tag}-host`;
const VIEWER = `${tag}-viewer`;

describe('images & volumes and settings pages', { skip, concurrency: false }, () => {
  let handle: ServerHandle;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  let lab_: LabState;
  let node: LabNode | undefined;
  let admin: Api;
  let problems: string[];
  const contexts: BrowserContext[] = [];

  const docker = (...args: string[]) => run('docker', ['-H', node!.unix, ...args], { timeout: 120_000 });
  const a11y = async (p: Page, what: string) => assert.deepEqual(await accessibilityProblems(p), [], `accessibility of ${what}`);
  const signIn = async (p: Page, username: string) => {
    await p.goto(`${handle.url}/login`);
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('.who').getByText(username).waitFor();
  };
  const openTab = async (p: Page, name: 'Images' | 'Networks' | 'Volumes') => {
    await p.getByRole('tab', { name }).click();
    await p.getByRole('table', { name: name.toLowerCase() }).waitFor();
  };

  before(async () => {
    lab_ = await labState();
    node = await lab().addNode(tag);
    await docker('pull', lab_.images.busybox1);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-web-rs-'));
    handle = await startServer(loadConfig({
      FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0',
      FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_TEST_LOG ?? 'silent',
    }));
    const setup = await apiClient(handle.url, undefined).post('/api/v1/setup', { setupCode: handle.setupCode, username: 'admin', password: PASSWORD });
    assert.equal(setup.status, 201);
    admin = apiClient(handle.url, (await handle.store.users.createToken(setup.body.id, 'test', undefined)).token);
    assert.equal((await admin.post('/api/v1/hosts', { name: HOST, endpoint: node.unix, environment: 'development' })).status, 201);
    await waitFor(`${HOST} connected`, async () => (await admin.get(`/api/v1/hosts/${HOST}`)).body.status === 'connected', 30_000);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (d) => void d.accept());
    problems = watchConsole(page);
    await signIn(page, 'admin');
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await handle?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (node) await lab().removeNode(node.name);
  });

  test('the page lists the host\'s images; a network created from it (and one made with the CLI) appear live, and removing one removes it', async () => {
    await page.getByRole('link', { name: 'Images & volumes' }).click();
    await page.getByLabel('Host').selectOption(HOST);
    await page.waitForURL(`**/resources?host=${HOST}&tab=images`);
    const images = page.getByRole('table', { name: 'images' });
    await images.locator(`tr[data-image~="${lab_.images.busybox1}"]`).waitFor({ timeout: 15_000 });
    await a11y(page, 'the images tab');
    await screenshot(page, 'resources');

    await openTab(page, 'Networks');
    const net = `${tag}-net`;
    await page.getByLabel('Network name').fill(net);
    await page.getByLabel('Driver').selectOption('bridge');
    await page.getByRole('button', { name: 'Create network' }).click();
    const row = page.locator(`tr[data-network="${net}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal((await docker('network', 'inspect', '-f', '{{.Driver}}', net)).stdout.trim(), 'bridge');
    // Made behind the page's back: the host's network event brings it in without a reload.
    const cliNet = `${tag}-cli`;
    await docker('network', 'create', cliNet);
    await page.locator(`tr[data-network="${cliNet}"]`).waitFor({ timeout: 10_000 });
    await a11y(page, 'the networks tab');
    await row.getByRole('button', { name: `remove network ${net}` }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await assert.rejects(docker('network', 'inspect', net), 'the network is gone from the engine');
    // The server's refusal is shown as it is: a name the engine already has.
    await page.getByLabel('Network name').fill(cliNet);
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.getByRole('form', { name: 'create a network' }).getByRole('alert').waitFor();
    await page.locator(`tr[data-network="${cliNet}"]`).getByRole('button', { name: `remove network ${cliNet}` }).click();
    await page.locator(`tr[data-network="${cliNet}"]`).waitFor({ state: 'detached', timeout: 10_000 });
  });

  test('pulling an image shows the engine\'s progress, then the image; removing it removes it', async () => {
    await openTab(page, 'Images');
    const image = lab_.images.busybox2;
    // Every text the progress line shows, recorded in the page as it changes.
    await page.evaluate(() => {
      const g = globalThis as unknown as { document: any; MutationObserver: any; __progress: string[] };
      g.__progress = [];
      const el = g.document.querySelector('[aria-label="pull progress"]');
      new g.MutationObserver(() => g.__progress.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel('Image to pull').fill(image);
    await page.getByRole('button', { name: 'Pull' }).click();
    const progress = page.getByRole('status', { name: 'pull progress' });
    await progress.getByText(`Pulled ${image}`).waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => (globalThis as unknown as { __progress: string[] }).__progress);
    assert.ok(seen.some((t) => /Pull complete|Download|Already exists|Digest|Status|layers done/.test(t)), `engine progress was shown: ${JSON.stringify(seen)}`);
    const row = page.locator(`tr[data-image~="${image}"]`);
    await row.waitFor({ timeout: 10_000 });
    await docker('image', 'inspect', image);
    await row.getByRole('button', { name: `remove image ${image}` }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await assert.rejects(docker('image', 'inspect', image), 'the image is gone from the engine');
    // A reference the registry does not have: the server's error, as it is.
    await page.getByLabel('Image to pull').fill(`${lab_.registry.lab}/${tag}-missing:1`);
    await page.getByRole('button', { name: 'Pull' }).click();
    await page.getByRole('form', { name: 'pull an image' }).getByRole('alert').waitFor({ timeout: 30_000 });
  });

  test('a volume created from the page appears and is removed from it', async () => {
    await openTab(page, 'Volumes');
    const vol = `${tag}-vol`;
    await page.getByLabel(/Volume name/).fill(vol);
    await page.getByRole('button', { name: 'Create volume' }).click();
    const row = page.locator(`tr[data-volume="${vol}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal((await docker('volume', 'inspect', '-f', '{{.Driver}}', vol)).stdout.trim(), 'local');
    await a11y(page, 'the volumes tab');
    await row.getByRole('button', { name: `remove volume ${vol}` }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await assert.rejects(docker('volume', 'inspect', vol), 'the volume is gone from the engine');
  });

  test('settings: the server\'s configuration, a new viewer, and an API token shown once that works until revoked', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText(handle.cluster!.ca.fingerprint).waitFor();
    await page.locator('[data-highlight="FLOTILLA_GRACE_PERIOD_OFFLINE"]').getByText('30 min').waitFor();
    await page.getByText(/All \d+ settings in force/).click();
    await page.locator('tr[data-setting="FLOTILLA_AGENT_PORT"]').getByText(String(handle.cluster!.port)).waitFor();

    await page.getByLabel('New username').fill(VIEWER);
    await page.getByLabel('Password (at least 10 characters)').fill(PASSWORD);
    await page.getByRole('form', { name: 'create a user' }).getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create user' }).click();
    const userRow = page.locator(`tr[data-user="${VIEWER}"]`);
    await userRow.waitFor();
    const roleOf = async () => ((await admin.get('/api/v1/users')).body as { username: string; role: string }[]).find((u) => u.username === VIEWER)?.role;
    assert.equal(await roleOf(), 'viewer');
    // Changing the role from the page changes it on the server; the last admin cannot be demoted (the server says so).
    await userRow.getByLabel(`role of ${VIEWER}`).selectOption('operator');
    await waitFor('role operator', async () => (await roleOf()) === 'operator');
    await userRow.getByLabel(`role of ${VIEWER}`).selectOption('viewer');
    await waitFor('role viewer', async () => (await roleOf()) === 'viewer');
    await page.getByLabel('role of admin').selectOption('viewer');
    await page.getByRole('region', { name: 'Users' }).getByRole('alert').getByText('cannot demote the last admin').waitFor();
    await waitFor('the role shown reverts', async () => (await page.getByLabel('role of admin').inputValue()) === 'admin');

    await page.getByLabel('Token name').fill(`${tag}-token`);
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.locator('[data-new-token]');
    await shown.waitFor();
    const token = (await shown.getAttribute('data-new-token'))!;
    assert.equal((await page.getByLabel('new API token').innerText()).trim(), token);
    const me = await fetch(`${handle.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { user: { username: string } }).user.username, 'admin');
    const tokenRow = page.locator(`tr[data-token-name="${tag}-token"]`);
    await tokenRow.waitFor();
    await a11y(page, 'the settings page');
    await page.getByText(/All \d+ settings in force/).click();
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await screenshot(page, 'settings');
    // Shown once: after a reload the page has its name, never its secret.
    await page.reload();
    await tokenRow.waitFor();
    assert.equal(await page.locator('[data-new-token]').count(), 0);
    assert.ok(!(await page.content()).includes(token), 'the token is not shown again');
    await tokenRow.getByRole('button', { name: `revoke token ${tag}-token` }).click();
    await tokenRow.waitFor({ state: 'detached' });
    assert.equal((await fetch(`${handle.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  });

  test('a viewer sees the resources and settings but no create, remove or prune actions, and the API refuses them', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    contexts.push(ctx);
    const viewer = await ctx.newPage();
    const viewerProblems = watchConsole(viewer);
    await signIn(viewer, VIEWER);
    await viewer.goto(`${handle.url}/resources?host=${HOST}`);
    await viewer.locator(`tr[data-image~="${lab_.images.busybox1}"]`).waitFor({ timeout: 15_000 });
    const actions = /create|remove|prune|pull|untag/i;
    for (const tab of ['Images', 'Networks', 'Volumes'] as const) {
      await openTab(viewer, tab);
      await viewer.getByRole('table', { name: tab.toLowerCase() }).locator('tbody tr').first().waitFor();
      assert.equal(await viewer.getByRole('tabpanel').getByRole('button').count(), 0, `no buttons on the ${tab} tab`);
      assert.equal(await viewer.getByRole('tabpanel').getByRole('textbox').count(), 0, `no forms on the ${tab} tab`);
    }
    await a11y(viewer, 'the resources page as a viewer');
    const status = await viewer.evaluate(async (host) => {
      const me = await (await fetch('/api/v1/auth/me')).json() as { csrfToken: string };
      const res = await fetch(`/api/v1/hosts/${host}/networks`, { method: 'POST', headers: { 'x-flotilla-csrf': me.csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nope' }) });
      return res.status;
    }, HOST);
    assert.equal(status, 403);

    await viewer.getByRole('link', { name: 'Settings' }).click();
    await viewer.getByRole('table', { name: 'API tokens' }).waitFor();
    assert.equal(await viewer.getByRole('table', { name: 'users' }).count(), 0, 'no user management');
    assert.equal(await viewer.getByRole('table', { name: 'effective configuration' }).count(), 0);
    await viewer.getByText('FLOTILLA_GRACE_PERIOD_OFFLINE').waitFor();
    const buttons = await viewer.getByRole('main').getByRole('button').allInnerTexts();
    // Their own API tokens are theirs to make (the API lets every user); nothing else changes anything.
    assert.deepEqual(buttons.filter((b) => actions.test(b)), ['Create token']);
    await a11y(viewer, 'the settings page as a viewer');
    assert.deepEqual(viewerProblems, [], 'no page errors or CSP violations for the viewer');
    await ctx.close();
  });

  test('the viewer is deleted from the settings page', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    const row = page.locator(`tr[data-user="${VIEWER}"]`);
    await row.getByRole('button', { name: `delete user ${VIEWER}` }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(((await admin.get('/api/v1/users')).body as { username: string }[]).some((u) => u.username === VIEWER), false);
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });
});
