// `flotilla agent`: enroll if needed (FLOTILLA_ENROLL_TOKEN), then run until
// SIGINT/SIGTERM. Everything comes from FLOTILLA_* variables (SPEC A2).
import type { Logger } from '../log.ts';
import type { AgentConfig } from './config.ts';
import { loadIdentity } from './identity.ts';
import { enroll } from './enroll.ts';
import { AgentRunner } from './runner.ts';

export async function startAgent(config: AgentConfig, log: Logger): Promise<AgentRunner> {
  let identity = await loadIdentity(config.clusterDir);
  if (!identity) {
    if (!config.enrollToken) {
      throw new Error(`no agent identity in ${config.clusterDir} and no FLOTILLA_ENROLL_TOKEN to enroll with: create a token on the server (flotilla token create)`);
    }
    identity = await enroll({ serverAddr: config.serverAddr, token: config.enrollToken, hostName: config.hostName, clusterDir: config.clusterDir, log });
  } else if (config.enrollToken) {
    log.info({ host_id: identity.hostId, dir: config.clusterDir }, 'already enrolled: FLOTILLA_ENROLL_TOKEN is ignored');
  }
  const runner = new AgentRunner(config, identity, log);
  await runner.start();
  return runner;
}
