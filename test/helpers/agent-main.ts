// Runs one agent in its own process (tests start it inside a lab node's network
// namespace, so it dials the server across the lab network like a real host).
import { loadAgentConfig } from '../../src/agent/config.ts';
import { startAgent } from '../../src/agent/main.ts';
import { createLogger } from '../../src/log.ts';

const config = loadAgentConfig(process.env);
const log = createLogger(config.logLevel);
const runner = await startAgent(config, log);
// One line per state change on stdout, for the test to wait on.
const say = (event: string, extra: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ event, ...extra }) + '\n');
runner.on('connected', () => say('connected'));
runner.on('disconnected', (why) => say('disconnected', { why }));
runner.on('reconnecting', (ms) => say('reconnecting', { ms }));
runner.on('autonomous', (on) => say('autonomous', { on }));
say('started', { hostId: runner.identity.hostId });
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void runner.stop().then(() => process.exit(0)));
}
