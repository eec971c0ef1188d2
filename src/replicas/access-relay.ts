// Security events across replicas: a revocation, token deletion, user deletion or
// role change stored by one replica is announced to the others, and each applies
// it through its own AccessEvents — the path its own changes take — so the Docker
// endpoint's connections, SSE streams and agent channels opened with that access
// close on every replica, not only where the change was made.
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { AccessChange, AccessEvents } from '../store/access-events.ts';
import type { ReplicaBus } from './event-bus.ts';

export const ACCESS_CHANNEL = 'access';

const role = z.enum(['admin', 'operator', 'viewer']);
const accessChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cert_revoked'), serial: z.string() }),
  z.object({ kind: z.literal('token_revoked'), tokenId: z.string(), userId: z.string() }),
  z.object({ kind: z.literal('user_removed'), userId: z.string() }),
  z.object({ kind: z.literal('role_changed'), userId: z.string(), role }),
]) satisfies z.ZodType<AccessChange>;

/** Returns the function that stops relaying. */
export function relayAccessChanges(access: AccessEvents, bus: ReplicaBus, log: Logger): () => void {
  if (!bus.hasPeers) return () => undefined;
  // Set while a peer's change is re-published here, so it is not sent back out.
  let applyingPeerChange = false;
  const stopSending = access.subscribe((change) => {
    if (applyingPeerChange) return;
    // Durable: a replica whose bus connection is down reads it when it is back.
    bus.publish(ACCESS_CHANNEL, change, { durable: true })
      .catch((err: unknown) => log.error({ err, change: change.kind }, 'could not tell the other replicas of an access change'));
  });
  const stopReceiving = bus.subscribe(ACCESS_CHANNEL, (payload, from) => {
    const parsed = accessChangeSchema.safeParse(payload);
    if (!parsed.success) {
      log.warn({ from }, 'ignored a malformed access change from another replica');
      return;
    }
    applyingPeerChange = true;
    try {
      // Listeners run synchronously (AccessEvents.publish), so the flag covers exactly them.
      access.publish(parsed.data);
    } finally {
      applyingPeerChange = false;
    }
    log.info({ from, change: parsed.data.kind }, 'applied an access change made on another replica');
  });
  return () => {
    stopSending();
    stopReceiving();
  };
}
