// Enrollment (SPEC S2, A1): a token secret and a CSR in; a host identity, the CA
// and a signed client certificate out. The token's use is taken only after
// everything else checked out, so a bad CSR does not burn a token, and it is
// taken atomically, so one single-use token enrolls exactly one agent.
import crypto from 'node:crypto';
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { EnrollRequest, EnrollResponse } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import { nowIso } from '../store/db.ts';
import { hostNameSchema } from '../fleet/host-input.ts';
import { NO_AGENT_FIELDS } from '../fleet/fleet.ts';
import { alreadyExists, invalidArgument, permissionDenied, unauthenticated } from './grpc-errors.ts';
import { normalizeSerial } from './pki/certs.ts';
import type { ClusterCa } from './ca.ts';
import type { TokenHasher } from './enroll-token.ts';

const SECRET = /^[0-9a-f]{64}$/;
const MAX_CSR_BYTES = 16 * 1024;

export interface EnrollmentDeps {
  store: Store;
  ca: ClusterCa;
  hasher: TokenHasher;
  log: Logger;
  onEnrolled(host: HostRow): void;
}

export function enrollHandler(deps: EnrollmentDeps): handleUnaryCall<EnrollRequest, EnrollResponse> {
  return (call, callback) => {
    enroll(deps, call.request, call.getPeer()).then((res) => callback(null, res), (err: Error) => callback(err));
  };
}

async function enroll(deps: EnrollmentDeps, req: EnrollRequest, peer: string): Promise<EnrollResponse> {
  const secret = req.tokenSecret.trim().toLowerCase();
  if (!SECRET.test(secret)) throw invalidArgument(`enrollment token secret must be 64 hex characters, got ${secret.length}`);
  const name = hostNameSchema.safeParse(req.hostName);
  if (!name.success) throw invalidArgument(`host name "${req.hostName.slice(0, 80)}": ${name.error.issues[0]?.message}`);
  if (req.csrPem.length > MAX_CSR_BYTES) throw invalidArgument(`CSR is larger than ${MAX_CSR_BYTES} bytes`);
  if (await deps.store.hosts.find(name.data)) {
    throw alreadyExists(`a host named "${name.data}" already exists: remove it first or set a different FLOTILLA_HOST_NAME`);
  }
  const hostId = crypto.randomUUID();
  let issued;
  try {
    issued = await deps.ca.signAgentCsr(req.csrPem, { hostId });
  } catch (err) {
    throw invalidArgument(`CSR refused: ${(err as Error).message}`);
  }
  const taken = await deps.store.enrollTokens.consume(deps.hasher.digest(secret));
  if (!taken.ok) {
    deps.log.warn({ peer, host: name.data, reason: taken.reason }, 'enrollment refused');
    if (taken.reason === 'unknown') throw unauthenticated('enrollment token is not known to this server');
    throw permissionDenied(taken.reason === 'expired' ? 'enrollment token has expired: create a new one' : 'enrollment token has already been used');
  }
  const host = newAgentHost(hostId, name.data, normalizeSerial(issued.serial), issued.notAfter);
  try {
    await deps.store.hosts.insert(host);
  } catch (err) {
    // Lost a race for the name with a concurrent enrollment.
    if (/unique/i.test((err as Error).message)) throw alreadyExists(`a host named "${name.data}" already exists`);
    throw err;
  }
  deps.log.info({ host: host.name, host_id: hostId, token: taken.token.id, peer, agent_version: req.agentVersion }, 'agent enrolled');
  deps.onEnrolled(host);
  return { hostId, caPem: deps.ca.certPem, certPem: issued.certPem };
}

function newAgentHost(id: string, name: string, serial: string, notAfter: Date): HostRow {
  const at = nowIso();
  return {
    id, name, kind: 'agent', endpoint: `agent://${name}`, tls_sealed: null, environment: 'production', environment_label: null,
    sync_interval_s: 60, status: 'pending', status_reason: 'enrolled, waiting for the agent to connect', status_changed_at: at,
    consecutive_failures: 0, last_seen_at: null, last_sync_at: null, last_sync_ms: null, engine_id: null, engine_version: null,
    api_version: null, os: null, arch: null, cpus: null, memory_bytes: null, engine_name: null, containers_total: 0,
    containers_running: 0, created_at: at,
    ...NO_AGENT_FIELDS, agent_state: 'active', cert_serial: serial, cert_not_after: notAfter.toISOString(),
  };
}
