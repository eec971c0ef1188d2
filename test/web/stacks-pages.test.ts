// The stacks pages in real Chromium against a real server and the shared lab
// swarm: a Compose file pasted into the deploy form (with a .env value and an
// env_file uploaded under the path the file names) deployed with its steps
// and convergence shown live; changed and deployed again; the two deployments
// diffed (the field named); the first deployed again (rollback) from the
// stack's page; a schema error shown with the server's path; a viewer sees no
// deploy form or actions (and the API refuses them); the stack removed from
// the UI; a new version deployed with the blue-green strategy chosen in the
// form, its steps shown live. axe-core on each page, no CSP violations, screenshots to
// docs/screenshots/. The stack is removed afterwards in any case.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { accessibilityProblems, launchBrowser, noChromium, screenshot, watchConsole } from './browser.ts';

const exec = promisify(execFile);
const skip = noChromium() || (await noSharedSwarm());
const STACK = `wst${process.pid % 100000}`;
const SERVICE = `${STACK}_sleeper`;
const BG_STACK = `${STACK}bg`;

interface DeploymentRow { id: string; status: string; redeployOf: string | null }

describe('stacks pages', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  /** The agent host's node: the service is pinned there (other suites drain and promote node4 meanwhile). */
  let pinned = '';

  const url = (p: string) => bed.srv.url + p;
  const deployments = async (stack = STACK) => (await bed.admin.get(`${bed.base}/deployments?stack=${stack}`)).body as DeploymentRow[];
  const compose = () => `services:
  sleeper:
    image: ${bed.lab.images.busybox1}
    command: sleep 3600
    stop_grace_period: 1s
    environment:
      GREETING: \${GREETING}
    env_file: ./extra.env
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pinned}]
`;
  const a11y = async (p: Page, name: string) => assert.deepEqual(await accessibilityProblems(p), [], `accessibility of the ${name} page`);
  async function signIn(p: Page, username: string): Promise<void> {
    await p.goto(url('/login'));
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(ADMIN_PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText(new RegExp(`^${username} \\(`)).waitFor();
    await p.locator('.live-live').waitFor();
  }
  /** Fills the env and uploads ./extra.env (its row appears once the Compose file names it), then deploys and waits for the result. */
  async function deployFromForm(greeting: string): Promise<void> {
    await page.locator('textarea[name="env"]').fill(`# values for the file\nGREETING=${greeting}\n`);
    await page.getByLabel('Resolve images').selectOption('never');
    const row = page.locator('table[aria-label="files"] tr[data-path="./extra.env"]');
    await row.getByLabel('upload ./extra.env').setInputFiles({ name: 'extra.env', mimeType: 'text/plain', buffer: Buffer.from('LEVEL=debug\n') });
    await row.getByText('extra.env, 12 chars').waitFor();
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const run = page.locator('section[aria-label^="Deploy of"]');
    // Live: the service's step is listed while it still converges, before any result.
    await run.locator('ol[aria-label="deploy steps"] li', { hasText: `service ${SERVICE}:` }).waitFor({ timeout: 60_000 });
    await run.locator(`table[aria-label="convergence"] tr[data-service="${SERVICE}"][data-outcome="waiting"]`).waitFor({ timeout: 10_000 });
    await run.locator('[aria-label="deploy result"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    await run.locator(`table[aria-label="convergence"] tr[data-service="${SERVICE}"][data-outcome="converged"]`).waitFor();
  }
  /** The service's env as the engine has it (the docker CLI against a manager). */
  async function envOfService(): Promise<string[]> {
    const manager = bed.hosts.find((h) => h.role === 'manager')!.node.unix;
    const { stdout } = await exec('docker', ['-H', manager, 'service', 'inspect', SERVICE, '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}'], { timeout: 60_000 });
    return JSON.parse(stdout) as string[];
  }

  before(async () => {
    bed = await sharedSwarmBed();
    pinned = bed.hosts.find((h) => h.kind === 'agent')!.node.hostname;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Remove and redeploy ask for confirmation.
    page.on('dialog', (d) => void d.accept());
    await signIn(page, 'admin');
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    if (!bed) return;
    await bed.admin.request('DELETE', `${bed.base}/stacks/${STACK}`).catch(() => undefined);
    await bed.admin.request('DELETE', `${bed.base}/stacks/${BG_STACK}`).catch(() => undefined);
    await bed.close();
  });

  test('a Compose file pasted in the deploy form is deployed with its steps and convergence shown live, then succeeded', async () => {
    await page.goto(url(`/swarm/${bed.cluster}/stacks`));
    await page.locator('table[aria-label="stacks"]').waitFor();
    await page.getByRole('link', { name: 'Deploy a stack' }).click();
    await page.waitForURL(`**/swarm/${bed.cluster}/deploy`);
    await page.getByLabel('Stack name').fill(STACK);
    await page.locator('textarea[name="compose"]').fill(compose());
    await deployFromForm('one');
    const list = await deployments();
    assert.equal(list.length, 1);
    assert.equal(list[0]!.status, 'succeeded');
    await page.locator('section[aria-label^="Deploy of"]').scrollIntoViewIfNeeded();
    await a11y(page, 'deploy');
    await screenshot(page, 'stack-deploy');
  });

  test('the stack page shows the service converged with its task; changed and deployed again, two deployments are listed and the diff names the field', async () => {
    await page.getByRole('link', { name: `Open the stack ${STACK}` }).click();
    await page.waitForURL(`**/swarm/${bed.cluster}/stacks/${STACK}`);
    const svc = page.locator(`table[aria-label="stack services"] tr[data-service="${SERVICE}"]`);
    await svc.locator('[data-running="1"][data-desired="1"]').waitFor({ timeout: 30_000 });
    await page.locator('table[aria-label="stack tasks"] tr[data-state="running"]', { hasText: pinned }).waitFor({ timeout: 30_000 });
    await page.locator('table[aria-label="deployments"] tbody tr[data-status="succeeded"]').first().waitFor();

    // From the latest deployment: its file and .env values come back; the env_file is uploaded again.
    await page.getByRole('link', { name: 'Deploy a new version' }).click();
    await page.waitForURL(`**/swarm/${bed.cluster}/deploy?from=*`);
    await waitFor('the form filled from the deployment', async () => (await page.locator('textarea[name="compose"]').inputValue()).includes('sleep 3600'));
    assert.equal(await page.getByLabel('Stack name').inputValue(), STACK);
    assert.match(await page.locator('textarea[name="env"]').inputValue(), /GREETING=one/);
    await deployFromForm('two');
    const list = await deployments();
    assert.deepEqual(list.map((d) => d.status), ['succeeded', 'succeeded']);

    await page.getByRole('link', { name: `Open the stack ${STACK}` }).click();
    const rows = page.locator('table[aria-label="deployments"] tbody tr[data-deployment]');
    await waitFor('two deployments listed', async () => (await rows.count()) === 2, 20_000);
    assert.equal(await rows.first().getAttribute('data-deployment'), list[0]!.id, 'newest first');
    assert.match(await rows.first().innerText(), /admin/, 'who deployed it');
    await page.getByRole('button', { name: 'Show the differences' }).click();
    const changed = page.locator(`table[aria-label="differences"] tr[data-service="${SERVICE}"][data-change="changed"]`);
    await changed.waitFor();
    assert.match(await changed.innerText(), /TaskTemplate\.ContainerSpec\.Env/);
    await a11y(page, 'stack');
  });

  test('the first deployment is deployed again from the stack page (rollback) with live progress, and succeeds', async () => {
    const [, first] = await deployments();
    await page.getByRole('button', { name: `redeploy ${first!.id.slice(0, 8)}` }).click();
    const run = page.locator('section[aria-label="Redeploy"]');
    await run.locator('ol[aria-label="deploy steps"] li', { hasText: `service ${SERVICE}: updated` }).waitFor({ timeout: 60_000 });
    await run.locator('[aria-label="deploy result"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    const rows = page.locator('table[aria-label="deployments"] tbody tr[data-deployment]');
    await waitFor('three deployments listed', async () => (await rows.count()) === 3, 20_000);
    assert.match(await rows.first().innerText(), new RegExp(`redeploy of ${first!.id.slice(0, 8)}`));
    const newest = (await deployments())[0]!;
    assert.deepEqual([newest.status, newest.redeployOf], ['succeeded', first!.id]);
    const env = await envOfService();
    assert.ok(env.includes('GREETING=one') && env.includes('LEVEL=debug'), `the service runs the first deployment's env again: ${env.join(' ')}`);
    await page.locator(`table[aria-label="stack services"] tr[data-service="${SERVICE}"][data-converged="true"]`).waitFor({ timeout: 30_000 });
    await page.locator('table[aria-label="stack tasks"] tr[data-state="running"]').first().waitFor({ timeout: 30_000 });
    await page.evaluate('window.scrollTo(0, 0)');
    await a11y(page, 'stack');
    await screenshot(page, 'stack');
  });

  test('a Compose file with a schema error shows the server\'s message naming the path, and nothing is recorded', async () => {
    const bad = `${STACK}bad`;
    await page.goto(url(`/swarm/${bed.cluster}/deploy`));
    await page.getByLabel('Stack name').fill(bad);
    await page.locator('textarea[name="compose"]').fill(`services:\n  web:\n    image: ${bed.lab.images.busybox1}\n    deploy:\n      replicas: "two"\n`);
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const alert = page.locator('section[aria-label^="Deploy of"] [role="alert"]');
    await alert.waitFor({ timeout: 20_000 });
    const text = await alert.innerText();
    assert.match(text, /Refused \(400\)/);
    assert.match(text, /services\.web\.deploy\.replicas/, text);
    assert.deepEqual(await deployments(bad), [], 'nothing recorded');
    assert.equal((await bed.admin.get(`${bed.base}/stacks/${bad}`)).status, 404, 'nothing deployed');
    await a11y(page, 'deploy (refused)');
  });

  test('a new version deployed with the blue-green strategy from the form: the strategy\'s steps are shown live and the new version takes over', async () => {
    const web = (version: string, image: string) => `services:
  web:
    image: ${image}
    command: ["sh", "-c", "mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]
      interval: 1s
      retries: 2
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pinned}]
`;
    const v1 = await bed.admin.post(`${bed.base}/stacks`, { name: BG_STACK, compose: web('v1', bed.lab.images.busybox1), resolveImage: 'never', convergeTimeoutSeconds: 90 });
    assert.equal(v1.body.status, 'succeeded', JSON.stringify(v1.body));
    await page.goto(url(`/swarm/${bed.cluster}/deploy`));
    await page.getByLabel('Stack name').fill(BG_STACK);
    await page.locator('textarea[name="compose"]').fill(web('v2', bed.lab.images.busybox2));
    await page.getByLabel('Resolve images').selectOption('never');
    await page.locator('select[name="strategy"]').selectOption('blue-green');
    await page.getByLabel('HTTP probe port (optional)').fill('8080');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const run = page.locator('section[aria-label^="Deploy of"]');
    // Live: the strategy's first step is listed before the deploy has a result.
    await run.locator('ol[aria-label="deploy steps"] li', { hasText: 'blue-green' }).first().waitFor({ timeout: 60_000 });
    assert.equal(await run.locator('[aria-label="deploy result"]').count(), 0, 'shown while the deploy runs');
    await run.locator('[aria-label="deploy result"][data-status="succeeded"]').waitFor({ timeout: 180_000 });
    const steps = await run.locator('ol[aria-label="deploy steps"] li', { hasText: 'blue-green' }).allInnerTexts();
    assert.ok(steps.length >= 2, `the strategy's steps: ${steps.join(' | ')}`);
    const newest = ((await bed.admin.get(`${bed.base}/deployments?stack=${BG_STACK}`)).body as { strategy: string; status: string }[])[0]!;
    assert.deepEqual([newest.strategy, newest.status], ['blue-green', 'succeeded']);
    const svc = (await bed.admin.get(`${bed.base}/services/${BG_STACK}_web`)).body as { image: string };
    assert.equal(svc.image.split('@')[0], bed.lab.images.busybox2, 'the new version took over the name');
    await a11y(page, 'deploy (blue-green)');
  });

  test('a viewer sees the stack and its deployments without a deploy form or any action, and the API refuses a redeploy', async () => {
    const username = `${STACK}viewer`;
    const created = await bed.admin.post('/api/v1/users', { username, password: ADMIN_PASSWORD, role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const viewer = await ctx.newPage();
      await signIn(viewer, username);
      const viewerProblems = watchConsole(viewer);
      await viewer.goto(url(`/swarm/${bed.cluster}/stacks`));
      await viewer.locator(`table[aria-label="stacks"] tr[data-stack="${STACK}"]`).waitFor({ timeout: 20_000 });
      assert.equal(await viewer.getByRole('link', { name: 'Deploy a stack' }).count(), 0, 'no deploy link');
      await viewer.getByRole('link', { name: STACK, exact: true }).click();
      const rows = viewer.locator('table[aria-label="deployments"] tbody tr[data-deployment]');
      await waitFor('three deployments listed', async () => (await rows.count()) === 3, 20_000);
      await viewer.locator(`table[aria-label="stack services"] tr[data-service="${SERVICE}"]`).waitFor();
      // Comparing is reading: the only button a viewer has.
      const buttons = await viewer.locator('main').getByRole('button').allInnerTexts();
      assert.deepEqual(buttons, ['Show the differences'], 'no remove or redeploy');
      assert.equal(await viewer.getByRole('link', { name: /Deploy/ }).count(), 0, 'no deploy link');
      await a11y(viewer, 'stack (viewer)');
      await viewer.goto(url(`/swarm/${bed.cluster}/deploy`));
      await viewer.getByText('Deploying needs the swarm.manage permission').waitFor();
      assert.equal(await viewer.locator('main form').count(), 0, 'no deploy form');
      const first = (await deployments()).at(-1)!.id;
      const status = await viewer.evaluate(async ([cluster, id, stack]) => {
        const me = await (await fetch('/api/v1/auth/me')).json() as { csrfToken: string };
        const headers = { 'x-flotilla-csrf': me.csrfToken, 'content-type': 'application/json' };
        const redeploy = await fetch(`/api/v1/swarm/clusters/${cluster}/deployments/${id}/redeploy`, { method: 'POST', headers, body: '{}' });
        const remove = await fetch(`/api/v1/swarm/clusters/${cluster}/stacks/${stack}`, { method: 'DELETE', headers: { 'x-flotilla-csrf': me.csrfToken } });
        return [redeploy.status, remove.status];
      }, [bed.cluster, first, STACK] as const);
      assert.deepEqual(status, [403, 403]);
      assert.deepEqual(viewerProblems, []);
    } finally {
      await ctx.close();
    }
    assert.equal((await deployments()).length, 3, 'the refused redeploy recorded nothing');
  });

  test('the stack is removed from its page after confirmation', async () => {
    await page.goto(url(`/swarm/${bed.cluster}/stacks/${STACK}`));
    await page.locator(`table[aria-label="stack services"] tr[data-service="${SERVICE}"]`).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Remove stack' }).click();
    await page.waitForURL(`**/swarm/${bed.cluster}/stacks`);
    await page.locator('table[aria-label="stacks"]').waitFor();
    await page.locator(`tr[data-stack="${STACK}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal((await bed.admin.get(`${bed.base}/stacks/${STACK}`)).status, 404, 'no service of the stack is left');
    assert.equal((await bed.admin.get(`${bed.base}/services/${SERVICE}`)).status, 404);
  });

  test('no page errors or CSP violations on the stacks pages', () => {
    assert.deepEqual(problems, []);
  });
});
