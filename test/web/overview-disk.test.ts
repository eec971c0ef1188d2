// The fleet overview's Disk column in real Chromium: a lab host, measured by the
// server soon after its first sync, shows its disk total with the breakdown in
// the cell's tooltip, and the totals card shows the fleet's disk used.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { labState, sharedNodes } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { accessibilityProblems, launchBrowser, noChromium, watchConsole } from './browser.ts';

const skip = noChromium() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const HOST = `od${process.pid % 10000}-host`;

/** The dashboard's own rendering of a byte count (web/src/components/ui.tsx). */
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

describe('the overview\'s disk column', { skip, concurrency: false }, () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  before(async () => {
    const lab = await labState();
    srv = await startTestServer();
    assert.equal((await srv.admin.post('/api/v1/hosts', { name: HOST, endpoint: sharedNodes(lab)[0]!.unix, environment: 'development' })).status, 201);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    problems = watchConsole(page);
    await page.goto(`${srv.url}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.who').getByText('admin').waitFor();
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  test('a measured host shows its disk total, the breakdown in the tooltip, and the fleet\'s disk used', async () => {
    const disk = await waitFor(`${HOST} measured`, async () =>
      ((await srv.admin.get('/api/v1/fleet/overview')).body.hosts as any[]).find((h) => h.name === HOST)?.disk, 30_000);
    await page.goto(`${srv.url}/`);
    const table = page.getByRole('table', { name: 'hosts' });
    await table.getByRole('columnheader', { name: 'Disk' }).waitFor();
    const cell = table.locator(`tr[data-host="${HOST}"] td.disk`);
    await waitFor('the disk cell filled', async () => (await cell.textContent()) === bytes(disk.totalBytes), 10_000);
    const title = (await cell.getAttribute('title')) ?? '';
    for (const part of [`images ${bytes(disk.imagesBytes)}`, `containers ${bytes(disk.containersBytes)}`, `volumes ${bytes(disk.volumesBytes)}`, `build cache ${bytes(disk.buildCacheBytes)}`, disk.checkedAt]) {
      assert.ok(title.includes(part), `tooltip "${title}" names ${part}`);
    }
    assert.equal(await page.getByTestId('fleet-disk').textContent(), `${bytes(disk.totalBytes)} disk used`);
    assert.deepEqual(await accessibilityProblems(page), [], 'accessibility of the overview');
    assert.deepEqual(problems, []);
  });
});
