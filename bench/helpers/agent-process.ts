// A real Flotilla agent in its own process, for benchmarks that want the agent's
// CPU apart from the server's. Configured by FLOTILLA_* variables; stops on SIGTERM.
import { pino } from 'pino';
import { startAgent } from '../../src/agent/main.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import { createLogger } from '../../src/log.ts';

const config = loadAgentConfig(process.env);
const agent = await startAgent(config, createLogger(config.logLevel, pino.destination(2)));
process.once('SIGTERM', () => {
  void agent.stop().then(() => process.exit(0));
});
