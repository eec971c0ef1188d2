// Long-running commands (server, agent) stop cleanly on SIGINT/SIGTERM, once,
// and give up after 10 s so a stuck shutdown never holds the terminal.
import type { Logger } from '../log.ts';

export function stopOnSignal(log: Logger, what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${what} stopping`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
}
