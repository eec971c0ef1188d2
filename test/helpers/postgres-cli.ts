// scripts/test.sh's PostgreSQL (FLOTILLA_TEST_DATABASE=postgres): one server for
// the whole run, in its own temporary folder on a unix socket.
//
//   node test/helpers/postgres-cli.ts start       prints "<folder> <admin URL>", leaves the server running
//   node test/helpers/postgres-cli.ts stop <folder>
import { startPostgres, stopPostgresIn } from './postgres.ts';

const [command, dir] = process.argv.slice(2);
if (command === 'start') {
  // Every test server of a run opens a pool: room for a few hundred connections.
  const server = await startPostgres({ stopOnExit: false, maxConnections: 500 });
  process.stdout.write(`${server.dir} ${server.url('postgres')}\n`);
} else if (command === 'stop' && dir) {
  stopPostgresIn(dir);
} else {
  process.stderr.write('usage: postgres-cli.ts start | stop <folder>\n');
  process.exit(2);
}
