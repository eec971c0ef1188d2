// One Docker API connection for the server (SPEC A9): a Tunnel call to the
// server piped to a fresh connection to the local engine's socket. Bytes are
// not interpreted, so streaming and hijacked (attach, exec) calls just work.
import net from 'node:net';
import type { AgentClient } from '../proto/generated/flotilla.ts';
import { tunnelDuplex } from '../proto/tunnel-duplex.ts';
import type { Logger } from '../log.ts';

/** Returns a function that tears the tunnel down (the agent calls it when it stops). */
export function serveTunnel(client: AgentClient, tunnelId: string, dockerSocket: string, log: Logger): () => void {
  const call = client.tunnel();
  call.on('error', (err) => log.debug({ tunnel: tunnelId, err: err.message }, 'tunnel call ended with an error'));
  call.write({ body: { $case: 'open', value: { tunnelId } } });
  const engine = net.connect(dockerSocket);
  engine.once('error', (err) => {
    log.warn({ tunnel: tunnelId, socket: dockerSocket, err: err.message }, 'tunnel: local engine unreachable');
    call.write({ body: { $case: 'error', value: `agent cannot reach its Docker engine at ${dockerSocket}: ${err.message}` } });
    call.end();
  });
  engine.once('connect', () => {
    engine.removeAllListeners('error');
    const server = tunnelDuplex(call, () => call.cancel());
    server.pipe(engine);
    engine.pipe(server);
    const teardown = (err?: Error) => {
      if (err) log.debug({ tunnel: tunnelId, err: err.message }, 'tunnel closed');
      server.destroy();
      engine.destroy();
    };
    engine.on('error', teardown);
    server.on('error', teardown);
    engine.on('close', () => server.end());
    server.on('close', () => engine.end());
  });
  return () => {
    call.cancel();
    engine.destroy();
  };
}
