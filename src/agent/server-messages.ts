// What the agent does with each message from the server.
import type { ServerMessage } from '../proto/generated/flotilla.ts';
import type { AgentRunner } from './runner.ts';
import { serveTunnel } from './tunnel.ts';

export async function handleServerMessage(agent: AgentRunner, msg: ServerMessage): Promise<void> {
  const body = msg.body;
  switch (body?.$case) {
    case 'welcome':
      return agent.onWelcome(body.value.heartbeatIntervalMs || 10_000);
    case 'openTunnel':
      agent.trackTunnel(serveTunnel(agent.client, body.value.tunnelId, agent.config.dockerSocket, agent.log));
      return;
    case 'command': {
      const cmd = body.value;
      if (cmd.body?.$case === 'update') {
        agent.updates.handle(cmd, cmd.body.value);
      } else if (cmd.body?.$case === 'ping') {
        agent.send({ body: { $case: 'result', value: { id: cmd.id, ok: true, error: '', body: { $case: 'pong', value: { agentTimeMs: Date.now() } } } } });
      } else {
        agent.send({ body: { $case: 'result', value: { id: cmd.id, ok: false, error: `this agent does not know command "${(cmd.body as { $case?: string } | undefined)?.$case ?? 'none'}"` } } });
      }
      return;
    }
    case 'policy':
      return agent.cache.setPolicy(body.value);
    case 'settings':
      return agent.cache.setSettings(body.value);
    case 'journalAck':
      await agent.journal.clearThrough(body.value.throughSeq);
      agent.log.info({ through_seq: body.value.throughSeq, left: agent.journal.size }, 'server stored the offline journal');
      return;
    case 'requestState':
      return agent.sendState();
    case 'renewed':
      return agent.onRenewed(body.value.certPem, body.value.error);
    default:
      agent.log.debug({ kind: (body as { $case?: string } | undefined)?.$case }, 'ignored server message');
  }
}
