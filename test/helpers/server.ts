// Starts a real Flotilla server (real HTTP, real SQLite in a temp dir) for a
// test, completes first-run setup, and hands out signed-in API clients.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { testDatabaseEnv } from './postgres.ts';

export interface Api {
  token: string;
  request(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  get(urlPath: string): Promise<{ status: number; body: any; headers: Headers }>;
  post(urlPath: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
}

export interface TestServer {
  handle: ServerHandle;
  url: string;
  dataDir: string;
  admin: Api;
  /** A signed-in client for a new user with this role. */
  userWithRole(role: 'admin' | 'operator' | 'viewer'): Promise<Api>;
  close(): Promise<void>;
}

export const ADMIN_PASSWORD = 'correct horse battery staple';

export function apiClient(url: string, token: string | undefined): Api {
  const request: Api['request'] = async (method, urlPath, body, headers = {}) => {
    const res = await fetch(url + urlPath, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return { token: token ?? '', request, get: (p) => request('GET', p), post: (p, b) => request('POST', p, b ?? {}) };
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-test-'));
  // Port 0 everywhere: test servers run side by side.
  const config = loadConfig({
    FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_TEST_LOG ?? 'silent',
    // FLOTILLA_TEST_DATABASE=postgres: the store in a database of its own.
    ...(await testDatabaseEnv({ FLOTILLA_DATA_DIR: dataDir, ...env })), ...env,
  });
  const handle = await startServer(config);
  const anon = apiClient(handle.url, undefined);
  const setup = await anon.post('/api/v1/setup', { setupCode: handle.setupCode, username: 'admin', password: ADMIN_PASSWORD });
  if (setup.status !== 201) throw new Error(`setup failed: ${JSON.stringify(setup.body)}`);
  const adminToken = (await handle.store.users.createToken((await handle.store.users.get('admin'))!.id, 'test', undefined)).token;
  const admin = apiClient(handle.url, adminToken);
  let n = 0;
  return {
    handle, url: handle.url, dataDir, admin,
    async userWithRole(role) {
      const username = `${role}${++n}`;
      const created = await admin.post('/api/v1/users', { username, password: ADMIN_PASSWORD, role });
      if (created.status !== 201) throw new Error(`user create failed: ${JSON.stringify(created.body)}`);
      const { token } = await handle.store.users.createToken(created.body.id, 'test', undefined);
      return apiClient(handle.url, token);
    },
    async close() {
      await handle.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { waitFor } from './wait.ts';
