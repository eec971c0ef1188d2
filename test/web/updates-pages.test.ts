// The Updates pages in real Chromium against a real server, a lab engine of
// this test's own and the lab registry: the registry added from the page, a
// check finds the re-pushed tags, a policy override pins a container at once,
// "Update now" shows its steps and the new container runs the new image, the
// containers page shows "update available" and its update of a failing image
// is rolled back with the reason in the history; a webhook target receives a
// signed test notice; update settings saved, and a bad window refused with
// nothing stored. A viewer sees no actions and the API refuses them. axe-core
// on each tab; screenshots to docs/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { lab, labState, type LabNode, type LabState } from '../lab/fixture.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { createContainer, inspectContainer, startContainer } from '../../src/docker/containers.ts';
import { inspectImage } from '../../src/docker/images.ts';
import type { DockerClient } from '../../src/docker/client.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, verifyWebhookSignature } from '../../src/updates/notify/index.ts';
import { apiClient, waitFor, type Api } from '../helpers/server.ts';
import { buildUpdateImages, clientOf, type UpdateImages } from '../updates/update-images.ts';
import { accessibilityProblems, launchBrowser, noChromium, screenshot, watchConsole } from './browser.ts';

const skip = noChromium() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const PASSWORD = 'correct horse battery staple';
const tag = `up${process.pid % 10000}`;
const HOST = `${tag}-host`;
const VIEWER = `${tag}-viewer`;
const SECRET = 'a-webhook-secret-for-the-dashboard-test';

describe('the updates pages', { skip, concurrency: false }, () => {
  let handle: ServerHandle;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  let st: LabState;
  let node: LabNode | undefined;
  let docker: DockerClient;
  let images: UpdateImages;
  let admin: Api;
  let problems: string[];
  let receiver: http.Server;
  const received: { event: string; valid: boolean }[] = [];
  const ids: Record<string, string> = {};

  const a11y = async (p: Page, what: string) => assert.deepEqual(await accessibilityProblems(p), [], `accessibility of ${what}`);
  const signIn = async (p: Page, username: string) => {
    await p.goto(`${handle.url}/login`);
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('.who').getByText(username).waitFor();
  };
  const openTab = async (name: string) => {
    await page.getByRole('tab', { name }).click();
    await page.getByRole('tab', { name, selected: true }).waitFor();
  };
  /** Runs a container from healthy1 under its own tag, then publishes `next` under that tag: an update is waiting. */
  const runThenRepublish = async (name: string, next: 'healthy2' | 'unhealthy') => {
    const ref = await images.publish('healthy1', `${tag}-${name}`);
    const { Id } = await createContainer(docker, name, { Image: ref, Env: ['KEEP=me'] });
    await startContainer(docker, Id);
    ids[name] = Id;
    await images.publish(next, `${tag}-${name}`);
  };

  before(async () => {
    st = await labState();
    node = await lab().addNode(tag);
    docker = clientOf(node);
    images = await buildUpdateImages(st, node, [node]);
    for (const [n, next] of [[`${tag}-a`, 'healthy2'], [`${tag}-b`, 'unhealthy'], [`${tag}-c`, 'healthy2']] as const) await runThenRepublish(n, next);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-web-up-'));
    handle = await startServer(loadConfig({
      FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0',
      FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_TEST_LOG ?? 'silent',
    }));
    const setup = await apiClient(handle.url, undefined).post('/api/v1/setup', { setupCode: handle.setupCode, username: 'admin', password: PASSWORD });
    assert.equal(setup.status, 201);
    admin = apiClient(handle.url, (await handle.store.users.createToken(setup.body.id, 'test', undefined)).token);
    assert.equal((await admin.post('/api/v1/hosts', { name: HOST, endpoint: node.unix, environment: 'development' })).status, 201);
    await waitFor(`${HOST} connected`, async () => (await admin.get(`/api/v1/hosts/${HOST}`)).body.status === 'connected', 30_000);
    assert.equal((await admin.post('/api/v1/users', { username: VIEWER, password: PASSWORD, role: 'viewer' })).status, 201);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const h = (name: string) => String(req.headers[name.toLowerCase()] ?? '');
        received.push({ event: (JSON.parse(body) as { event: string }).event, valid: verifyWebhookSignature({ secret: SECRET, body, signature: h(SIGNATURE_HEADER), timestamp: h(TIMESTAMP_HEADER), deliveryId: h(DELIVERY_HEADER) }) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    page.on('dialog', (d) => void d.accept());
    problems = watchConsole(page);
    await signIn(page, 'admin');
  });

  after(async () => {
    await browser?.close();
    await handle?.close();
    await new Promise((r) => receiver?.close(r));
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    await images?.remove().catch(() => undefined);
    await docker?.close();
    if (node) await lab().removeNode(node.name);
  });

  test('the registry is added from the page and a check finds the three re-pushed tags', async () => {
    await page.getByRole('link', { name: 'Updates' }).click();
    await openTab('Registries');
    await page.getByRole('table', { name: 'registries' }).getByText('No registries configured').waitFor();
    const form = page.getByRole('form', { name: 'add a registry' });
    await form.getByLabel(/^Registry/).fill(st.registry.lab);
    await form.getByLabel('plain HTTP').check();
    await form.getByRole('button', { name: 'Add registry' }).click();
    const row = page.locator(`tr[data-registry="${st.registry.lab}"]`);
    await row.getByText('plain HTTP').waitFor();
    await a11y(page, 'the registries tab');

    await openTab('Out of date');
    await page.getByText('Nothing checked yet').waitFor();
    await page.getByRole('button', { name: 'Check now' }).click();
    await page.getByRole('status', { name: 'check summary' }).getByText(/Checked 3 containers on 1 host in/).waitFor({ timeout: 60_000 });
    for (const n of ['a', 'b', 'c']) {
      await page.locator(`tr[data-update="${HOST}/${tag}-${n}"]`).locator('[data-status="update_available"]').waitFor();
    }
    await page.getByText('3 of 3 containers have an update').waitFor();
    await a11y(page, 'the out-of-date tab');
    await screenshot(page, 'updates');
  });

  test('a policy override pins a container at once, and removing it brings the update back', async () => {
    const name = `${tag}-c`;
    await page.getByLabel(`policy of ${name} on ${HOST}`).selectOption('pinned');
    await page.locator(`tr[data-update="${HOST}/${name}"]`).waitFor({ state: 'detached' }); // no longer among the updates available
    const policies = (await admin.get('/api/v1/updates/policies')).body as { overrides: Record<string, string> };
    const hostId = ((await admin.get(`/api/v1/hosts/${HOST}`)).body as { id: string }).id;
    assert.equal(policies.overrides[`${hostId}/${name}`], 'pinned');
    await page.getByLabel('show').selectOption('pinned');
    const row = page.locator(`tr[data-update="${HOST}/${name}"]`);
    await row.locator('[data-status="pinned"]').waitFor();
    await row.getByLabel(`policy of ${name} on ${HOST}`).selectOption('inherit');
    await row.waitFor({ state: 'detached' });
    await page.getByLabel('show').selectOption('update_available');
    await page.locator(`tr[data-update="${HOST}/${name}"]`).locator('[data-status="update_available"]').waitFor();
    assert.equal(((await admin.get('/api/v1/updates/policies')).body as { overrides: Record<string, string> }).overrides[`${hostId}/${name}`], undefined);
  });

  test('Update now shows each step and the container then runs the new image with its configuration', async () => {
    const name = `${tag}-a`;
    await page.getByRole('button', { name: `Update now: ${name} on ${HOST}` }).click();
    const progress = page.locator(`[data-progress="${HOST}/${name}"]`);
    await progress.locator('[data-outcome="updated"]').waitFor({ timeout: 120_000 });
    const steps = await progress.locator('li[data-step]').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    for (const s of ['inspect', 'pull', 'stop', 'create', 'start', 'health', 'cleanup']) assert.ok(steps.includes(s), `step ${s} shown: ${steps.join(', ')}`);
    const now = await inspectContainer(docker, name);
    assert.notEqual(now.Id, ids[name]);
    assert.equal(now.Image, (await inspectImage(docker, images.ref('healthy2'))).Id);
    assert.ok(now.Config.Env?.includes('KEEP=me'));
    // The check of the new container is up to date: the row leaves the list of updates available.
    await page.locator(`tr[data-update="${HOST}/${name}"]`).waitFor({ state: 'detached', timeout: 30_000 });
  });

  test('the containers page shows the update available; its update of a failing image is rolled back, and the history says why', async () => {
    const name = `${tag}-b`;
    await page.getByRole('link', { name: 'Containers' }).click();
    const row = page.locator(`[data-container="${name}"]`);
    await row.locator('[data-status="update_available"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator(`[data-container="${tag}-a"] [data-status="update_available"]`).count(), 0, 'the updated container has none');
    await page.getByLabel('state').selectOption('update');
    await page.locator(`[data-container="${tag}-a"]`).waitFor({ state: 'detached' });
    await row.getByRole('button', { name: `update ${name}` }).click();
    const progress = page.locator(`[data-progress="${HOST}/${name}"]`);
    await progress.locator('[data-outcome="rolled_back"]').waitFor({ timeout: 120_000 });
    assert.match(await progress.innerText(), /health/i);
    const now = await inspectContainer(docker, name);
    assert.equal(now.Id, ids[name], 'the old container is back');
    assert.equal(now.State.Running, true);
    await a11y(page, 'the containers page with updates');

    await page.getByRole('link', { name: 'Updates' }).click();
    await openTab('History');
    const failed = page.locator(`tr[data-container="${name}"]`);
    await failed.locator('[data-status="rolled_back"]').waitFor();
    assert.match(await failed.locator('[data-reason]').innerText(), /health/i);
    await page.locator(`tr[data-container="${tag}-a"]`).locator('[data-status="updated"]').waitFor();
    await failed.getByRole('button', { name: `steps of the update of ${name}`, exact: false }).click();
    await page.locator('tr.steps-row').getByText('rollback').first().waitFor();
    await a11y(page, 'the history tab');
    await screenshot(page, 'update-history');
    await openTab('Agents');
    await page.getByText('No agent hosts.').waitFor();
    await a11y(page, 'the agents tab');
  });

  test('a webhook target is added and its test notice arrives signed', async () => {
    await openTab('Notifications');
    const form = page.getByRole('form', { name: 'add a notification target' });
    await form.getByLabel('Name').fill(`${tag}-hook`);
    await form.getByLabel(/^URL/).fill(`http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`);
    await form.getByLabel(/^Secret/).fill(SECRET);
    await form.getByRole('button', { name: 'Add target' }).click();
    const row = page.locator(`tr[data-target="${tag}-hook"]`);
    await row.getByText('secret set').waitFor();
    await row.getByRole('button', { name: `send test notice to ${tag}-hook` }).click();
    await page.getByRole('status', { name: 'test delivery' }).getByText(/delivered \(HTTP 204/).waitFor({ timeout: 30_000 });
    assert.deepEqual(received, [{ event: 'test', valid: true }]);
    assert.ok(!(await page.content()).includes(SECRET), 'the secret is not shown');
    await a11y(page, 'the notifications tab');
  });

  test('update settings are saved; a bad window is refused with its reason and nothing is stored', async () => {
    await openTab('Settings');
    const form = page.getByRole('form', { name: 'update settings' });
    await form.getByLabel(/^Check every/).fill('30m');
    await form.getByLabel(/^Update window/).fill('0 3 * * *');
    await form.getByLabel('agents follow the server\'s version').uncheck();
    await form.getByRole('button', { name: 'Save update settings' }).click();
    await page.getByRole('status').getByText('Update settings saved.').waitFor();
    const saved = (await admin.get('/api/v1/updates/settings')).body as { checkIntervalMs: number; window: string | null; agentSelfUpdate: boolean };
    assert.deepEqual([saved.checkIntervalMs, saved.window, saved.agentSelfUpdate], [1_800_000, '0 3 * * *', false]);

    await form.getByLabel(/^Update window/).fill('not a cron');
    await form.getByRole('button', { name: 'Save update settings' }).click();
    await page.getByRole('alert').getByText(/window/i).waitFor();
    assert.equal(((await admin.get('/api/v1/updates/settings')).body as { window: string | null }).window, '0 3 * * *', 'nothing stored');

    await form.getByLabel(/^Default policy/).selectOption('pinned');
    await page.getByRole('status').getByText('Default policy is now pinned.').waitFor();
    assert.equal(((await admin.get('/api/v1/updates/policies')).body as { defaultPolicy: string }).defaultPolicy, 'pinned');
    const hostForm = page.getByRole('form', { name: 'set a host window' });
    await hostForm.getByLabel('Host').selectOption(HOST);
    await hostForm.getByLabel('Window (cron)').fill('0 4 * * 6');
    await hostForm.getByRole('button', { name: 'Set host window' }).click();
    await page.locator(`tr[data-host-window="${HOST}"]`).getByText('0 4 * * 6').waitFor();
    await a11y(page, 'the update settings tab');
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });

  test('a viewer sees what is out of date and the history, but no action, and the API refuses them', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 900 } });
    const viewer = await ctx.newPage();
    const viewerProblems = watchConsole(viewer);
    await signIn(viewer, VIEWER);
    await viewer.goto(`${handle.url}/updates?tab=available`);
    await viewer.getByLabel('show').selectOption('all');
    await viewer.locator(`tr[data-update="${HOST}/${tag}-c"]`).waitFor();
    assert.equal(await viewer.getByRole('tabpanel').getByRole('button').count(), 0, 'no Check now, no Update now');
    assert.equal(await viewer.getByRole('tabpanel').getByRole('combobox', { name: /^policy of/ }).count(), 0, 'no policy override');
    await a11y(viewer, 'the out-of-date tab as a viewer');
    for (const t of ['registries', 'notifications']) {
      await viewer.goto(`${handle.url}/updates?tab=${t}`);
      await viewer.getByRole('tab', { selected: true }).waitFor();
      await viewer.getByRole('table').waitFor();
      assert.equal(await viewer.getByRole('tabpanel').getByRole('button').count(), 0, `no actions on ${t}`);
      assert.equal(await viewer.getByRole('tabpanel').getByRole('form').count(), 0, `no forms on ${t}`);
    }
    const statuses = await viewer.evaluate(async ([host, name]) => {
      const me = await (await fetch('/api/v1/auth/me')).json() as { csrfToken: string };
      const post = (url: string, method = 'POST', body = {}) => fetch(url, { method, headers: { 'x-flotilla-csrf': me.csrfToken, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status);
      return [await post('/api/v1/updates/check'), await post(`/api/v1/hosts/${host}/containers/${name}/update`), await post(`/api/v1/updates/policies/containers/${name}`, 'PUT', { policy: 'auto' })];
    }, [HOST, `${tag}-c`]);
    assert.deepEqual(statuses, [403, 403, 403]);
    assert.deepEqual(viewerProblems, []);
    await ctx.close();
  });
});
