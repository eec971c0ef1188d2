// The Channel RPC, server side: authenticates the agent, waits for its Hello,
// registers the session (replacing a stale one), then routes each message.
import type { handleBidiStreamingCall } from '@grpc/grpc-js';
import type { AgentMessage, ServerMessage } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { AgentAuth } from './agent-auth.ts';
import type { AgentHooks } from './agent-hooks.ts';
import { AgentSession, type ChannelCall, type SessionRegistry } from './sessions.ts';
import type { PolicyStore } from './policy-store.ts';
import type { CertRenewer } from './cert-renewer.ts';

export interface ChannelDeps {
  auth: AgentAuth;
  sessions: SessionRegistry;
  hooks: AgentHooks;
  policies: PolicyStore;
  renewer: CertRenewer;
  log: Logger;
  serverVersion: string;
  heartbeatMs: number;
}

const HELLO_DEADLINE_MS = 10_000;

export function channelHandler(deps: ChannelDeps): handleBidiStreamingCall<AgentMessage, ServerMessage> {
  return (call) => {
    void runChannel(deps, call).catch((err: Error & { code?: number }) => {
      deps.log.warn({ peer: call.getPeer(), err: err.message }, 'agent channel refused');
      call.emit('error', err);
    });
  };
}

async function runChannel(deps: ChannelDeps, call: ChannelCall): Promise<void> {
  const host = await deps.auth.hostOf(call);
  const first = await firstMessage(call);
  if (first.body?.$case !== 'hello') throw new Error('the first message on the channel must be Hello');
  const session = new AgentSession(host.id, host.name, call);
  if (deps.sessions.attach(session)) deps.log.info({ host: host.name }, 'replaced stale agent stream');
  const hello = first.body.value;
  session.send({ body: { $case: 'welcome', value: { hostId: host.id, serverVersion: deps.serverVersion, heartbeatIntervalMs: deps.heartbeatMs } } });
  for (const msg of await deps.policies.updatesFor(hello.policyRevision, hello.settingsRevision)) session.send(msg);
  const connected = deps.hooks.connected(host, hello);
  deps.sessions.track(connected);
  await connected;
  const watchdog = new Watchdog(deps.heartbeatMs * 3, () => {
    deps.log.warn({ host: host.name }, 'agent silent for three heartbeats: closing its channel');
    session.close('silent');
  });
  // One message at a time, in arrival order: events and journal entries must not overtake each other.
  let chain = Promise.resolve();
  call.on('data', (msg: AgentMessage) => {
    watchdog.kick();
    chain = chain.then(() => route(deps, session, host, msg))
      .catch((err: Error) => deps.log.error({ host: host.name, err: err.message }, 'agent message failed'));
    deps.sessions.track(chain);
  });
  const ended = (detail: string) => {
    watchdog.stop();
    if (!deps.sessions.detach(session)) return; // replaced: the new session owns the host's status
    const reason = session.endedBy ? 'server' : 'network';
    deps.sessions.track(chain.then(() => deps.hooks.disconnected(host, reason, session.endedBy ? `closed by server: ${session.endedBy}` : detail)));
  };
  call.resume();
  call.on('end', () => {
    ended('agent closed the stream');
    call.end();
  });
  call.on('cancelled', () => ended('stream cancelled (connection lost)'));
  call.on('error', (err) => ended(`stream error: ${err.message}`));
}

async function route(deps: ChannelDeps, session: AgentSession, host: HostRow, msg: AgentMessage): Promise<void> {
  const body = msg.body;
  switch (body?.$case) {
    case 'heartbeat': return deps.hooks.heartbeat(host, body.value);
    case 'state': return deps.hooks.state(host, body.value);
    case 'event': return deps.hooks.event(host, body.value.eventJson);
    case 'result': return deps.sessions.settleCommand(session, body.value);
    case 'journal': {
      await deps.hooks.journal(host, body.value.entries);
      const through = body.value.entries.reduce((m, e) => Math.max(m, e.seq), 0);
      session.send({ body: { $case: 'journalAck', value: { batchId: body.value.batchId, throughSeq: through } } });
      return;
    }
    case 'renew':
      session.send({ body: { $case: 'renewed', value: await deps.renewer.renew(host, body.value.csrPem) } });
      return;
    default:
      deps.log.debug({ host: host.name, kind: body?.$case }, 'ignored agent message');
  }
}

function firstMessage(call: ChannelCall): Promise<AgentMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Hello within ${HELLO_DEADLINE_MS} ms`)), HELLO_DEADLINE_MS);
    call.once('data', (m: AgentMessage) => {
      // Hold what follows Hello until the router is listening.
      call.pause();
      clearTimeout(timer);
      resolve(m);
    });
    call.once('end', () => reject(new Error('stream ended before Hello')));
  });
}

class Watchdog {
  private timer: NodeJS.Timeout;
  private readonly ms: number;
  private readonly fire: () => void;
  constructor(ms: number, fire: () => void) {
    this.ms = ms;
    this.fire = fire;
    this.timer = setTimeout(fire, ms);
  }
  kick(): void {
    this.timer.refresh();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}
