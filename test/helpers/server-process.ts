// Runs test/helpers/server-main.ts as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { testDatabaseEnv } from './postgres.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  agentPort: number;
  setupCode: string | undefined;
  token: string | undefined;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const MAIN = path.resolve(import.meta.dirname, 'server-main.ts');

/** A TCP port nobody listens on right now (for a server that must come back on the same port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    // FLOTILLA_TEST_DATABASE=postgres: one database per data directory, so a restarted server finds its data.
    env: { ...process.env, FLOTILLA_PORT: '0', FLOTILLA_REPLICA_PORT: '0', FLOTILLA_LOG_LEVEL: 'warn', ...(await testDatabaseEnv(env)), ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (line.startsWith('{"url"')) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before it was ready:\n${stderr}`)));
  });
  const info = JSON.parse(first) as { url: string; agentPort: number; setupCode?: string; token?: string };
  return {
    child, url: info.url, agentPort: info.agentPort, setupCode: info.setupCode, token: info.token,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}
