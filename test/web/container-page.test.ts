// A container's page in real Chromium against a real server and a lab engine: the
// exec terminal (xterm.js over a WebSocket to the exec hijack) answers what is typed
// and follows a resize; the stats charts draw and keep updating; the container's
// events appear under the logs; a WebSocket from a foreign origin, or a viewer's,
// is refused; axe-core and the page's CSP find nothing to report.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocket } from 'undici';
import { labState, type LabState } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { accessibilityProblems, launchBrowser, noChromium, screenshot, watchConsole } from './browser.ts';

const run = promisify(execFile);
const skip = noChromium() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const tag = `wc${process.pid}`;
const HOST = 'ct1';

/** The status a WebSocket handshake gets (101 when it is accepted; the socket is closed at once). */
function handshakeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.once('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode!); });
    req.once('response', (res) => { res.resume(); resolve(res.statusCode!); });
    req.once('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('handshake timed out')));
    req.end();
  });
}

async function signIn(context: BrowserContext, url: string, username: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(new RegExp(`${username} \\(`)).waitFor();
  return page;
}

async function sessionCookie(context: BrowserContext): Promise<string> {
  const c = (await context.cookies()).find((x) => x.name === 'flotilla_session');
  assert.ok(c, 'signed in: a session cookie');
  return `${c.name}=${c.value}`;
}

describe('a container\'s page: terminal, stats, events', { skip, concurrency: false }, () => {
  let server: TestServer;
  let lab: LabState;
  let browser: Browser;
  let adminContext: BrowserContext;
  let page: Page;
  let problems: string[];
  let containerId: string;
  let terminalUrl: string;
  let agent: AgentProcess | undefined;
  const name = `${tag}-shell`;

  const docker = (...args: string[]) => run('docker', ['-H', lab.nodes[0]!.unix, ...args], { timeout: 60_000 });
  const screenText = () => page.locator('.terminal .xterm-rows').innerText();
  /** Types a line into the terminal and waits for `answer` (a regex over the whole screen) to appear. */
  const typeLine = async (line: string, answer: RegExp) => {
    await page.locator('.termbox').click();
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
    return waitFor(`"${answer.source}" on the terminal screen`, async () => answer.exec(await screenText()) ?? undefined, 15_000);
  };

  before(async () => {
    lab = await labState();
    server = await startTestServer();
    assert.equal((await server.admin.post('/api/v1/hosts', { name: HOST, endpoint: lab.nodes[0]!.unix })).status, 201);
    await waitFor('the host connected', async () => (await server.admin.get(`/api/v1/hosts/${HOST}`)).body?.status === 'connected', 30_000);
    assert.equal((await server.admin.post('/api/v1/users', { username: 'watcher', password: ADMIN_PASSWORD, role: 'viewer' })).status, 201);
    // A little CPU work, so the CPU chart has something to draw.
    const { stdout } = await docker('run', '-d', '--name', name, lab.images.busybox1, 'sh', '-c', 'while true; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.3; done');
    containerId = stdout.trim();
    terminalUrl = `${server.url}/api/v1/hosts/${HOST}/containers/${containerId}/terminal?cmd=sh`;
    browser = await launchBrowser();
    adminContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await signIn(adminContext, server.url, 'admin');
    problems = watchConsole(page);
  });

  after(async () => {
    await agent?.kill();
    await docker('rm', '-f', name).catch(() => undefined);
    await run('docker', ['-H', lab.nodes[1]!.unix, 'rm', '-f', `${tag}-agent-shell`], { timeout: 60_000 }).catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  test('the terminal answers a typed command, on screen', async () => {
    await page.goto(`${server.url}/containers/${HOST}/${containerId}`);
    await page.locator('section.terminal[data-state="open"]').waitFor({ timeout: 20_000 });
    await waitFor('the shell prompt', async () => /#\s*$/m.test(await screenText()) || undefined, 15_000);
    const m = await typeLine('echo hello-$((6*7))', /^hello-42\s*$/m);
    assert.ok(m, 'the shell evaluated the arithmetic: the answer, not the echo of the command');
  });

  test('a smaller window resizes the terminal, which keeps working', async () => {
    let asked = 0;
    /** The size the shell inside the container sees. */
    const sttySize = async () => {
      const n = ++asked;
      const m = await typeLine(`echo sz${n}-$(stty size | tr " " x)`, new RegExp(`sz${n}-(\\d+)x(\\d+)`));
      return { rows: Number(m[1]), cols: Number(m[2]) };
    };
    const wide = await sttySize();
    assert.ok(wide.cols > 80, `a 1400 px window gives a wide terminal (${wide.cols} columns)`);
    await page.setViewportSize({ width: 800, height: 1000 });
    // The browser fits the terminal to its box and tells the server, which resizes the exec's TTY.
    const narrow = await waitFor('the new size inside the container', async () => {
      const s = await sttySize();
      return s.cols < wide.cols ? s : undefined;
    }, 20_000, 300);
    assert.ok(narrow.cols < wide.cols && narrow.rows === wide.rows, `${wide.cols} → ${narrow.cols} columns`);
    await typeLine('clear; echo still-$((40+2))', /^still-42\s*$/m);
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  test('the stats charts draw, and their numbers keep updating', async () => {
    const stats = page.locator('section.stats');
    await stats.waitFor();
    await waitFor('a canvas in each chart', async () => (await page.locator('figure.chart canvas').count()) >= 4 || undefined, 15_000);
    const samples = async () => Number(await stats.getAttribute('data-samples'));
    const first = await waitFor('a first sample', async () => (await samples()) || undefined, 15_000);
    const readings: string[] = [];
    for (const more of [1, 2]) {
      await waitFor(`sample ${first + more}`, async () => (await samples()) >= first + more || undefined, 15_000);
      readings.push(await page.locator('[data-reading="cpu"]').innerText());
    }
    for (const r of readings) assert.match(r, /^\d+(\.\d)? %$/);
    assert.match(await page.locator('[data-reading="memory"]').innerText(), /\d+(\.\d)? (B|KiB|MiB|GiB)/);
  });

  test('the container\'s storage: what it wrote (SizeRw) and with its image (SizeRootFs), from ?size=true', async () => {
    await docker('exec', name, 'dd', 'if=/dev/zero', 'of=/written.bin', 'bs=1048576', 'count=3');
    const sized = await server.admin.get(`/api/v1/hosts/${HOST}/containers/${containerId}?size=true`);
    assert.equal(sized.status, 200);
    assert.ok(sized.body.SizeRw >= 3 * 1048576, `SizeRw ${sized.body.SizeRw}`);
    assert.ok(sized.body.SizeRootFs > sized.body.SizeRw);
    const plain = await server.admin.get(`/api/v1/hosts/${HOST}/containers/${containerId}`);
    assert.equal(plain.body.SizeRw, undefined, 'sizes only when asked (they walk the files)');
    // A second tab: this one's terminal session stays as the later tests expect it.
    const other = await adminContext.newPage();
    await other.goto(page.url());
    const shown = other.locator('[data-storage]');
    await waitFor('the storage shown', async () => /MiB written/.test(await shown.innerText()) || undefined, 15_000);
    const mib = Number(/^([\d.]+) MiB written/.exec(await shown.innerText())?.[1]);
    assert.ok(mib >= 3, await shown.innerText());
    await other.close();
  });

  test('the container\'s events appear under the logs (the terminal\'s exec among them)', async () => {
    // Opened after the page: an exec of its own, which the events list must show live.
    const ws = new WebSocket(terminalUrl, { headers: { authorization: `Bearer ${server.admin.token}` } });
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    ws.close();
    await page.locator('section.events tr[data-action^="exec_start"]').first().waitFor({ timeout: 15_000 });
    const box = await page.locator('section.events').boundingBox();
    const logs = await page.locator('section.logs').boundingBox();
    assert.ok(box && logs && box.y > logs.y, 'events sit under the logs');
  });

  test('the page has no serious accessibility problems and no CSP violations', async () => {
    await typeLine('echo hello-$((6*7))', /^hello-42\s*$/m);
    assert.deepEqual(await accessibilityProblems(page), [], 'accessibility of the container page');
    await page.locator('section.terminal').scrollIntoViewIfNeeded();
    await screenshot(page, 'container-terminal');
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
  });

  test('a terminal WebSocket opens only from the server\'s own origin', async () => {
    const cookie = await sessionCookie(adminContext);
    const own = new URL(server.url).origin;
    assert.equal(await handshakeStatus(terminalUrl, { cookie, origin: 'http://evil.example' }), 403, 'a foreign origin is refused');
    assert.equal(await handshakeStatus(terminalUrl, { cookie, origin: own.replace('http:', 'https:') }), 403, 'another scheme is another origin');
    assert.equal(await handshakeStatus(terminalUrl, { cookie }), 403, 'a browser session without an Origin is refused');
    assert.equal(await handshakeStatus(terminalUrl, { origin: own }), 401, 'no session, no terminal');
    assert.equal(await handshakeStatus(terminalUrl, { cookie, origin: own }), 101, 'our own origin with the session opens');
    assert.equal((await fetch(terminalUrl, { headers: { cookie } })).status, 426, 'a plain GET is told to upgrade');
  });

  test('over the WebSocket, bytes go both ways, and the session ends with the shell', async () => {
    const ws = new WebSocket(terminalUrl.replace('cmd=sh', 'cmd=sh&cols=100&rows=30'), { headers: { authorization: `Bearer ${server.admin.token}` } });
    ws.binaryType = 'arraybuffer';
    let text = '';
    ws.onmessage = (e) => { text += typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer).toString('utf8'); };
    const closed = new Promise<{ code: number; reason: string }>((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason }); });
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    ws.send(new TextEncoder().encode('echo via-$((1+1))\r'));
    await waitFor('the answer over the socket', () => /^via-2\s*$/m.test(text) || undefined, 15_000);
    // The engine can resize an exec only once it has started: on a busy machine the shell may run a moment
    // at 0x0, so ask until it sees the size asked for at the handshake.
    let sized = 0;
    await waitFor('the size asked for at the handshake', () => {
      if (/^s\d+-30x100\s*$/m.test(text)) return true;
      ws.send(new TextEncoder().encode(`echo s${++sized}-$(stty size | tr " " x)\r`));
      return undefined;
    }, 10_000, 300);
    ws.send(JSON.stringify({ type: 'resize', cols: 90, rows: 20 }));
    // The resize is applied by the engine a moment later: ask again until the shell sees it.
    let asked = 0;
    await waitFor('the resized terminal', () => {
      if (/^r\d+-20x90\s*$/m.test(text)) return true;
      ws.send(new TextEncoder().encode(`echo r${++asked}-$(stty size | tr " " x)\r`));
      return undefined;
    }, 10_000, 300);
    ws.send(new TextEncoder().encode('exit 3\r'));
    const end = await closed;
    assert.deepEqual(end, { code: 1000, reason: 'exited with code 3' });
    const audit = await server.admin.get('/api/v1/audit?action=container.terminal&limit=100');
    const opened = (audit.body as { result: string; username: string; target: string }[]).filter((a) => a.result === 'ok');
    // The page's, the events test's, the handshake's and this one.
    assert.ok(opened.length >= 4 && opened.every((a) => a.target === `host=${HOST} id=${containerId}`), `every opened session is audited: ${JSON.stringify(opened)}`);
    assert.ok((audit.body as { result: string }[]).some((a) => a.result === 'denied'), 'refusals are audited');
  });

  test('a viewer gets no terminal, and its WebSocket is refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const viewer = await signIn(context, server.url, 'watcher');
      const viewerProblems = watchConsole(viewer);
      await viewer.goto(`${server.url}/containers/${HOST}/${containerId}`);
      await viewer.locator('section.stats').waitFor();
      await viewer.getByLabel('log lines').waitFor();
      assert.equal(await viewer.locator('section.terminal, .terminal-off').count(), 0, 'no terminal for a viewer');
      assert.equal(await viewer.getByRole('button', { name: 'Stop' }).count(), 0);
      const cookie = await sessionCookie(context);
      assert.equal(await handshakeStatus(terminalUrl, { cookie, origin: new URL(server.url).origin }), 403, 'the API refuses it anyway');
      // And from the viewer's own page, as a browser would try it.
      const outcome = await viewer.evaluate((url) => new Promise<string>((resolve) => {
        const ws = new globalThis.WebSocket(url.replace(/^http/, 'ws'));
        ws.onopen = () => { ws.close(); resolve('open'); };
        ws.onerror = () => resolve('refused');
      }), terminalUrl);
      assert.equal(outcome, 'refused');
      assert.deepEqual(viewerProblems, []);
    } finally {
      await context.close();
    }
  });

  test('leaving the page ends its shell in the container (and every other closed session\'s)', async () => {
    /** Shells the terminal sessions started: the container's own command is "sh -c …". */
    const shells = async () => (await docker('top', name, '-o', 'pid,args')).stdout.split('\n').filter((l) => /^\s*\d+\s+sh\s*$/.test(l)).length;
    assert.ok((await shells()) >= 1, 'the page\'s terminal has a shell running');
    await page.getByRole('link', { name: 'Containers' }).click();
    await page.locator('section.terminal').waitFor({ state: 'detached' });
    await waitFor('no terminal shells left in the container', async () => (await shells()) === 0 || undefined, 15_000, 200);
  });

  test('on an agent host the terminal works the same (through the agent tunnel)', async () => {
    const node = lab.nodes[1]!;
    const created = await server.admin.post('/api/v1/enroll-tokens', { kind: 'single' });
    assert.equal(created.status, 201);
    agent = spawnAgent({ netns: node.netns, env: { FLOTILLA_SERVER_ADDR: `${lab.net}.0.1:${server.handle.cluster!.port}`, FLOTILLA_ENROLL_TOKEN: created.body.token, FLOTILLA_HOST_NAME: `${tag}-agent`, FLOTILLA_DOCKER_HOST: node.unix } });
    await waitFor('the agent host connected', async () => (await server.admin.get(`/api/v1/hosts/${tag}-agent`)).body?.status === 'connected', 30_000);
    const { stdout } = await run('docker', ['-H', node.unix, 'run', '-d', '--name', `${tag}-agent-shell`, lab.images.busybox1, 'sleep', '600'], { timeout: 60_000 });
    const ws = new WebSocket(`${server.url}/api/v1/hosts/${tag}-agent/containers/${stdout.trim()}/terminal`, { headers: { authorization: `Bearer ${server.admin.token}` } });
    ws.binaryType = 'arraybuffer';
    let text = '';
    ws.onmessage = (e) => { text += Buffer.from(e.data as ArrayBuffer).toString('utf8'); };
    const closed = new Promise<{ code: number; reason: string }>((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason }); });
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    ws.send(new TextEncoder().encode('echo agent-$((20+22)); exit\r'));
    assert.deepEqual(await closed, { code: 1000, reason: 'exited with code 0' });
    assert.match(text, /^agent-42\s*$/m);
  });
});
