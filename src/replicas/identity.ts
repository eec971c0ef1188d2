// Who this server process is among the replicas on one database: a random id made
// once per process, so a restarted replica is a new one (its peers' messages about
// the old one's state do not apply to it) and a replica can tell its own messages.
import { randomUUID } from 'node:crypto';

export const REPLICA_ID: string = randomUUID();
