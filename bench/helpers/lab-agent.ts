// Enrolls and runs one real agent in front of a lab engine, either inside the
// benchmark's process (as test/agent/smoke.test.ts does) or as a child process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LabNode } from '../../test/lab/fixture.ts';
import { waitFor, type TestServer } from '../../test/helpers/server.ts';
import { startAgent } from '../../src/agent/main.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import { createLogger } from '../../src/log.ts';

export type AgentMode = 'inproc' | 'child';

export interface LabAgent {
  hostName: string;
  stop(): Promise<void>;
}

export async function startLabAgent(srv: TestServer, hostName: string, node: LabNode, mode: AgentMode): Promise<LabAgent> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-agent-'));
  const { token } = await srv.handle.cluster!.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 60_000, label: 'bench', createdBy: null });
  const env = {
    FLOTILLA_SERVER_ADDR: `127.0.0.1:${srv.handle.cluster!.port}`, FLOTILLA_ENROLL_TOKEN: token, FLOTILLA_HOST_NAME: hostName,
    FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: node.unix, FLOTILLA_LOG_LEVEL: 'error',
  };
  let stopAgent: () => Promise<void>;
  if (mode === 'inproc') {
    const agent = await startAgent(loadAgentConfig(env), createLogger('silent'));
    stopAgent = () => agent.stop();
  } else {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'agent-process.ts')], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stopAgent = async () => {
      child.kill('SIGTERM');
      await exited;
    };
  }
  try {
    // Connected, and the first sync through the tunnel has completed.
    await waitFor(`agent ${hostName} connected and synced`, async () => {
      const h = (await srv.admin.get(`/api/v1/hosts/${hostName}`)).body;
      return h?.status === 'connected' && h.engine?.id === node.engineId;
    }, 30_000);
  } catch (err) {
    await stopAgent();
    throw err;
  }
  return {
    hostName,
    async stop() {
      await stopAgent();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
