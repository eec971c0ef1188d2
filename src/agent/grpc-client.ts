// gRPC clients for the agent: TLS 1.3 to the server, verified against the CA
// the agent pinned at enrollment (or, during enrollment, the CA it just
// verified against the token's fingerprint).
import { credentials, type ChannelOptions } from '@grpc/grpc-js';
import { AgentClient, EnrollmentClient } from '../proto/generated/flotilla.ts';
import type { AgentIdentity } from './identity.ts';

export const AGENT_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Our own loop reconnects with the spec's backoff; keep grpc-js's short so they don't stack.
  'grpc.initial_reconnect_backoff_ms': 1000,
  'grpc.max_reconnect_backoff_ms': 5000,
};

export function enrollmentClient(serverAddr: string, caPem: string): EnrollmentClient {
  return new EnrollmentClient(serverAddr, credentials.createSsl(Buffer.from(caPem)), AGENT_CHANNEL_OPTIONS);
}

export function agentClient(serverAddr: string, id: AgentIdentity): AgentClient {
  const creds = credentials.createSsl(Buffer.from(id.caPem), Buffer.from(id.keyPem), Buffer.from(id.certPem));
  return new AgentClient(serverAddr, creds, AGENT_CHANNEL_OPTIONS);
}
