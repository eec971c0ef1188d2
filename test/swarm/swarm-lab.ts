// The Swarm test bed: a real server with the agent endpoint, and the shared
// lab's swarm (node1..node3 managers, node4 and node5 workers) registered as
// hosts: node1..node4 direct, node5 as an agent host ("node5" runs an agent in
// its own network namespace). Waits until the cluster is discovered and synced
// with every host linked. Tests that break engines make their own swarm (fresh nodes).
import assert from 'node:assert/strict';
import { labState, sharedNodes, type LabNode, type LabState } from '../lab/fixture.ts';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import type { AgentProcess } from '../helpers/agent-process.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Api, TestServer } from '../helpers/server.ts';

export interface SwarmBed {
  lab: LabState;
  agents: AgentLab;
  srv: TestServer;
  admin: Api;
  /** The cluster's name in Flotilla. */
  cluster: string;
  /** Base path of the cluster's routes: /api/v1/swarm/clusters/<name>. */
  base: string;
  /** Registered host name → lab node, with its role in the swarm. */
  hosts: { name: string; node: LabNode; role: 'manager' | 'worker'; kind: 'direct' | 'agent' }[];
  agent: AgentProcess;
  close(): Promise<void>;
}

/** Why the swarm tests cannot run here, or false. */
export async function noSharedSwarm(): Promise<string | false> {
  try {
    const st = await labState();
    if ((st.swarm?.managers.length ?? 0) < 3 || (st.swarm?.workers.length ?? 0) < 2) return 'the lab swarm needs 3 managers and 2 workers (lab up 5 --swarm --managers 3)';
    return false;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function sharedSwarmBed(env: Record<string, string> = {}): Promise<SwarmBed> {
  const lab = await labState();
  const nodes = sharedNodes(lab);
  const managers = new Set(lab.swarm!.managers);
  const workers = lab.swarm!.workers.filter((w) => nodes.some((n) => n.name === w));
  const agentNode = workers[workers.length - 1]!;
  const agents = await agentLab(env);
  const srv = agents.srv;
  const hosts: SwarmBed['hosts'] = [];
  for (const node of nodes.filter((n) => managers.has(n.name) || workers.includes(n.name))) {
    const role = managers.has(node.name) ? 'manager' : 'worker';
    if (node.name === agentNode) {
      hosts.push({ name: node.name, node, role, kind: 'agent' });
      continue;
    }
    const res = await srv.admin.post('/api/v1/hosts', { name: node.name, endpoint: node.unix });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    hosts.push({ name: node.name, node, role, kind: 'direct' });
  }
  const agentHost = hosts.find((h) => h.kind === 'agent')!;
  const agent = agents.startAgent(agentHost.node, agentHost.name, { FLOTILLA_ENROLL_TOKEN: await agents.token() });
  await agents.waitConnected(agentHost.name, 30_000);
  const cluster = await waitFor('the lab swarm discovered with every host linked', async () => {
    const list = (await srv.admin.get('/api/v1/swarm/clusters')).body as { name: string; status: string; hosts: unknown[] }[];
    const c = list?.[0];
    if (!c) return false;
    if (c.hosts.length < hosts.length || c.status !== 'connected') {
      await srv.admin.post(`/api/v1/swarm/clusters/${c.name}/sync`);
      return false;
    }
    return c;
  }, 60_000, 250);
  return {
    lab, agents, srv, admin: srv.admin, cluster: cluster.name, base: `/api/v1/swarm/clusters/${cluster.name}`, hosts, agent,
    async close() {
      await agent.kill();
      await srv.close();
    },
  };
}
