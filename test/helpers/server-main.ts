// A Flotilla server in its own process, for tests that kill and restart it.
// Prints one JSON line: its URLs, and (FLOTILLA_TEST_ENROLL_TOKEN=1) a fresh enrollment token.
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';

const handle = await startServer(loadConfig());
const token = process.env.FLOTILLA_TEST_ENROLL_TOKEN === '1'
  ? (await handle.cluster!.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 600_000, label: 'test', createdBy: null })).token
  : undefined;
process.stdout.write(JSON.stringify({ url: handle.url, agentPort: handle.cluster?.port, setupCode: handle.setupCode, token }) + '\n');
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void handle.close().then(() => process.exit(0)));
