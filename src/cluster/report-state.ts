// The ReportState RPC: a full snapshot outside the channel (SPEC A3).
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { ReportAck, StateReport } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';
import type { AgentAuth } from './agent-auth.ts';
import type { AgentHooks } from './agent-hooks.ts';

export function reportStateHandler(deps: { auth: AgentAuth; hooks: AgentHooks; log: Logger }): handleUnaryCall<StateReport, ReportAck> {
  return (call, callback) => {
    void (async () => {
      const host = await deps.auth.hostOf(call);
      await deps.hooks.state(host, call.request);
      return { accepted: true };
    })().then((ack) => callback(null, ack), (err: Error) => {
      deps.log.warn({ peer: call.getPeer(), err: err.message }, 'state report refused');
      callback(err);
    });
  };
}
