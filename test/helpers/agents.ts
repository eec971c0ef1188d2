// Shared by the agent tests: a server reachable from the lab network, and
// agents started inside lab nodes that dial it there.
import { labState, type LabNode, type LabState } from '../lab/fixture.ts';
import { startTestServer, waitFor, type TestServer } from './server.ts';
import { spawnAgent, type AgentProcess } from './agent-process.ts';

export interface AgentLab {
  lab: LabState;
  srv: TestServer;
  /** host:port the agents dial: the lab gateway (root netns) and the server's agent port. */
  serverAddr: string;
  token(uses?: number, ttlMs?: number): Promise<string>;
  startAgent(node: LabNode, name: string, extraEnv?: Record<string, string>, dir?: string): AgentProcess;
  waitConnected(name: string, timeoutMs?: number): Promise<any>;
}

export async function agentLab(env: Record<string, string> = {}): Promise<AgentLab> {
  const lab = await labState();
  // Short heartbeats so that silence is noticed in seconds.
  const srv = await startTestServer({ FLOTILLA_AGENT_HEARTBEAT: '1s', ...env });
  const serverAddr = `${lab.net}.0.1:${srv.handle.cluster!.port}`;
  return {
    lab, srv, serverAddr,
    async token(uses = 1, ttlMs = 600_000) {
      const kind = uses > 1 ? 'fleet' : 'single';
      return (await srv.handle.cluster!.createEnrollToken({ kind, uses, ttlMs, label: 'test', createdBy: null })).token;
    },
    startAgent(node, name, extraEnv = {}, dir) {
      return spawnAgent({
        netns: node.netns, dir,
        env: { FLOTILLA_SERVER_ADDR: serverAddr, FLOTILLA_HOST_NAME: name, FLOTILLA_DOCKER_HOST: node.unix, ...extraEnv },
      });
    },
    waitConnected(name, timeoutMs = 20_000) {
      return waitFor(`${name} connected`, async () => {
        const h = (await srv.admin.get(`/api/v1/hosts/${name}`)).body;
        return h?.status === 'connected' && h;
      }, timeoutMs);
    },
  };
}
