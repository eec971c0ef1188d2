// The containers page in real Chromium: a fleet of 10,000 containers over 100
// hosts vs. 100 containers on one host, both SEEDED into the inventory (hosts in
// maintenance, named seeded-NNN, so nothing syncs over them). Measures the first
// render (navigation → first row visible) and a filter keystroke (→ the list
// shows only matches), median of BENCH_RUNS, and the ratio; plus the JS + CSS
// bytes the first page ships. Needs the dashboard built (scripts/setup.sh).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from '../test/helpers/server.ts';
import { launchBrowser } from '../test/web/browser.ts';
import { NO_AGENT_FIELDS } from '../src/fleet/fleet.ts';
import { median, printTable } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function seed(srv: TestServer, hosts: number, perHost: number): Promise<void> {
  const at = new Date().toISOString();
  for (let h = 0; h < hosts; h++) {
    const id = crypto.randomUUID();
    await srv.handle.store.hosts.insert({
      id, name: `seeded-${String(h).padStart(3, '0')}`, kind: 'direct', endpoint: 'unix:///nonexistent/seeded.sock', tls_sealed: null,
      environment: 'development', environment_label: null, sync_interval_s: 3600, status: 'maintenance', status_reason: 'seeded for the benchmark',
      status_changed_at: at, consecutive_failures: 0, last_seen_at: at, last_sync_at: at, last_sync_ms: 1, engine_id: null, engine_version: '28.0.0',
      api_version: '1.47', os: 'seeded', arch: 'x86_64', cpus: 4, memory_bytes: 8 << 30, engine_name: null, containers_total: perHost,
      containers_running: perHost, created_at: at, ...NO_AGENT_FIELDS,
    });
    await srv.handle.store.inventory.replace(id, 'container', Array.from({ length: perHost }, (_, i) => {
      const cid = crypto.randomBytes(32).toString('hex');
      const name = `app-${h}-${i}-${i % 7 === 0 ? 'web' : 'worker'}`;
      return {
        objectId: cid, name, data: {
          Id: cid, Names: [`/${name}`], Image: `registry.local/team/app:${i % 5}`, State: i % 10 === 0 ? 'exited' : 'running',
          Status: i % 10 === 0 ? 'Exited (0) 1 hour ago' : 'Up 2 hours (healthy)', Created: 1_700_000_000 + i,
          Ports: [{ PrivatePort: 8080, PublicPort: 30000 + (i % 1000), Type: 'tcp' }], Labels: { team: 'bench' },
        },
      };
    }));
  }
}

async function measure(hosts: number, perHost: number): Promise<{ render: number; filter: number }> {
  const srv = await startTestServer();
  const browser = await launchBrowser();
  try {
    await seed(srv, hosts, perHost);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${srv.url}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('admin (admin)').waitFor();
    const renders: number[] = [];
    const filters: number[] = [];
    for (let r = 0; r < RUNS + 1; r++) {
      await page.goto(`${srv.url}/`);
      await page.locator('table[aria-label="hosts"]').waitFor();
      const t0 = performance.now();
      await page.getByRole('link', { name: 'Containers' }).click();
      await page.locator('[data-container]').first().waitFor();
      const t1 = performance.now();
      // One keystroke that narrows the list: only names ending in "-web" of host 0 remain.
      await page.getByLabel('filter containers').fill('app-0-1');
      const t2 = performance.now();
      await page.getByLabel('filter containers').press('4');
      await page.waitForFunction(() => {
        const rows = Array.from((globalThis as unknown as { document: { querySelectorAll(q: string): ArrayLike<{ getAttribute(n: string): string | null }> } }).document.querySelectorAll('[data-container]'));
        return rows.length > 0 && rows.every((e) => (e.getAttribute('data-container') ?? '').startsWith('app-0-14'));
      });
      const t3 = performance.now();
      void t2;
      if (r > 0) { // the first run warms the caches
        renders.push(t1 - t0);
        filters.push(t3 - t2);
      }
    }
    return { render: median(renders), filter: median(filters) };
  } finally {
    await browser.close();
    await srv.close();
  }
}

/** What the first page loads: the files index.html names (the terminal and chart chunks load later, on use). */
function shippedBytes(): { raw: number; gzip: number; files: number } {
  const dist = path.resolve(import.meta.dirname, '../web/dist');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  let raw = 0;
  let gzip = 0;
  let files = 0;
  for (const [, f] of html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)) {
    const body = fs.readFileSync(path.join(dist, f!));
    raw += body.length;
    gzip += zlib.gzipSync(body).length;
    files++;
  }
  return { raw, gzip, files };
}

const small = await measure(1, 100);
const large = await measure(100, 100);
const b = shippedBytes();
console.log(`dashboard: containers page in Chromium, median of ${RUNS} runs after 1 warm-up; seeded inventories`);
printTable(['fleet', 'first render', 'filter keystroke'], [
  ['100 containers, 1 host', `${small.render.toFixed(0)} ms`, `${small.filter.toFixed(0)} ms`],
  ['10,000 containers, 100 hosts', `${large.render.toFixed(0)} ms`, `${large.filter.toFixed(0)} ms`],
  ['ratio', `${(large.render / small.render).toFixed(2)}x`, `${(large.filter / small.filter).toFixed(2)}x`],
]);
console.log(`first page ships ${b.files} JS+CSS files, ${(b.raw / 1024).toFixed(1)} KiB (${(b.gzip / 1024).toFixed(1)} KiB gzip)`);
