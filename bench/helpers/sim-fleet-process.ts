// A process of simulated agents (bench/helpers/sim-agent.ts) for agents-per-server:
// 10,000 agents with their own keys and mTLS connections are more than one
// load-generator process holds on this machine, so the benchmark splits them
// across a few of these. IPC requests: enroll, connect, counters, stop.
import { enrollmentClient } from '../../src/agent/grpc-client.ts';
import { counters, enrollSim, SimAgent, type SimIdentity } from './sim-agent.ts';
import { inParallel } from './sim-fleet.ts';

if (!process.send) throw new Error('started by bench/helpers/sim-fleet.ts with an IPC channel');

type Request =
  | { id: number; op: 'enroll'; addr: string; caPem: string; secret: string; names: string[]; parallel: number }
  | { id: number; op: 'connect'; addr: string; parallel: number }
  | { id: number; op: 'counters' }
  | { id: number; op: 'stop' };

let identities: SimIdentity[] = [];
const agents: SimAgent[] = [];

async function answer(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'enroll': {
      const enroller = enrollmentClient(req.addr, req.caPem);
      const result = await inParallel(req.names, req.parallel, (name) => enrollSim(enroller, req.secret, name));
      enroller.close();
      identities = result.done;
      return { done: result.done.length, error: result.error?.message };
    }
    case 'connect': {
      const result = await inParallel(identities, req.parallel, async (id) => {
        const agent = new SimAgent(req.addr, id);
        agents.push(agent);
        await agent.connect();
        return id.name;
      });
      return { names: result.done, error: result.error?.message };
    }
    case 'counters':
      return { ...counters, rssMb: process.memoryUsage().rss / 2 ** 20 };
    case 'stop':
      for (const a of agents) a.stop();
      setTimeout(() => process.exit(0), 200);
      return true;
  }
}

process.on('message', (req: Request) => {
  answer(req).then(
    (value) => process.send!({ id: req.id, value }),
    (err: Error) => process.send!({ id: req.id, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
