// Which container is an agent's own (SPEC S15), which ones are its updaters, and
// when an agent's version calls for a self-update.

/** On the agent image (deploy/agent.Dockerfile) and so on every agent container. */
export const SELF_LABEL = 'flotilla.self';
/** On the short-lived container that updates an agent's container (launch.ts). */
export const UPDATER_LABEL = 'flotilla.updater';
export const UPDATE_ID_LABEL = 'flotilla.update-id';
/** The agent container an updater works on. */
export const UPDATE_TARGET_LABEL = 'flotilla.update-target';

type Labels = Record<string, string> | null | undefined;

/**
 * The agent's own container: labelled `flotilla.self=true`. An updater is made
 * from the agent image, so it inherits that label; it overrides it, and is
 * excluded here as well, in case an engine keeps the image's value.
 */
export function isSelfContainer(labels: Labels): boolean {
  return labels?.[SELF_LABEL] === 'true' && labels[UPDATER_LABEL] !== 'true';
}

export function isUpdaterContainer(labels: Labels): boolean {
  return labels?.[UPDATER_LABEL] === 'true';
}

/**
 * SPEC S15: an agent whose version differs from the server's is updated to the
 * server's — either way, so agents follow a server that was rolled back too.
 * An agent that reported no version yet is not updated (nothing to compare).
 */
export function needsSelfUpdate(agentVersion: string | null | undefined, serverVersion: string): boolean {
  const agent = agentVersion?.trim() ?? '';
  const server = serverVersion.trim();
  return agent !== '' && server !== '' && agent !== server;
}
