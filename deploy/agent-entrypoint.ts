// The agent image's entry point. Started as root, it gives up root for the
// image's `node` user (uid/gid 1000) plus the group that owns the Docker
// socket, read at start-up, so one image runs unprivileged on every host
// however its socket's group is numbered (a Swarm global service runs on many).
// It hands the identity directory to that user (as the official database
// images do with their data directories), then runs `flotilla <command>`,
// `agent` by default. FLOTILLA_AGENT_USER=root keeps root (e.g. a socket only
// root may open); any other user given with `docker run --user` is kept as is.
//
// Until src/agent/runner.ts attaches the channel-health file itself (see
// deploy/README.md), `agent` runs here with it attached, as `flotilla agent` would.
import fs from 'node:fs';
import path from 'node:path';

const AGENT_UID = 1000;
const AGENT_GID = 1000;
const DEFAULT_SOCKET = '/var/run/docker.sock';

function fail(message: string, code: number): never {
  process.stderr.write(`flotilla: ${message}\n`);
  process.exit(code);
}

function socketPath(dockerHost: string | undefined): string {
  // The agent's own validation comes later and names a bad value; here only a usable path matters.
  return dockerHost?.startsWith('unix:///') ? new URL(dockerHost).pathname : DEFAULT_SOCKET;
}

/** Every entry under dir not yet owned by the agent user is given to it (lchown: links are not followed). */
function handOver(dir: string): void {
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.uid !== AGENT_UID || st.gid !== AGENT_GID) fs.lchownSync(p, AGENT_UID, AGENT_GID);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  visit(dir);
}

function dropRoot(): void {
  const wanted = process.env.FLOTILLA_AGENT_USER ?? '';
  if (!['', 'node', 'root'].includes(wanted)) fail(`invalid configuration:\n  FLOTILLA_AGENT_USER: node (default) or root (got ${JSON.stringify(wanted)})`, 2);
  if (process.getuid?.() !== 0 || wanted === 'root') return;
  const groups = [AGENT_GID];
  const socket = socketPath(process.env.FLOTILLA_DOCKER_HOST);
  try {
    const gid = fs.statSync(socket).gid;
    if (!groups.includes(gid)) groups.push(gid);
  } catch (err) {
    // No socket: the agent itself says so when it cannot reach its engine.
    process.stderr.write(`flotilla: cannot stat the Docker socket ${socket}: ${(err as Error).message}\n`);
  }
  const dir = process.env.FLOTILLA_CLUSTER_DIR || '/data/cluster';
  try {
    handOver(path.resolve(dir));
  } catch (err) {
    fail(`cannot give ${dir} to uid ${AGENT_UID}: ${(err as Error).message} (or set FLOTILLA_AGENT_USER=root)`, 1);
  }
  // Defined on POSIX, which is where this entry point runs (the check above already needed getuid).
  process.setgroups!(groups);
  process.setgid!(AGENT_GID);
  process.setuid!(AGENT_UID);
  if (process.env.HOME === '/root' || !process.env.HOME) process.env.HOME = '/home/node';
}

async function runAgentWithHealthFile(): Promise<void> {
  const [{ ConfigError }, { createLogger }, { loadAgentConfig }, { startAgent }, { trackChannelHealth }, { stopOnSignal }] = await Promise.all([
    import('../src/config.ts'), import('../src/log.ts'), import('../src/agent/config.ts'), import('../src/agent/main.ts'),
    import('../src/agent/health-file.ts'), import('../src/cli/stop-on-signal.ts'),
  ]);
  let config;
  try {
    config = loadAgentConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const log = createLogger(config.logLevel);
  try {
    const runner = await startAgent(config, log);
    const health = trackChannelHealth(runner, config.clusterDir, { log });
    stopOnSignal(log, 'agent', async () => {
      await health.stop();
      await runner.stop();
    });
  } catch (err) {
    fail((err as Error).message, 1);
  }
}

dropRoot();
const command = process.argv[2] ?? (process.env.FLOTILLA_MODE === 'agent' ? 'agent' : undefined);
if (command === 'agent' && process.argv.length <= 3) await runAgentWithHealthFile();
else await import('../src/cli/main.ts');
