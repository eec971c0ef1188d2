#!/usr/bin/env node
// node test/lab/cli.ts up [N] [--swarm] [--managers K] | down | status | env [NODE [--tcp]]
// Progress on stderr with timings: "[lab   1.23s] ...". Must run as root.
import { Lab, LabError } from './lab.ts';

const t0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[lab ${((Date.now() - t0) / 1000).toFixed(2).padStart(7)}s] ${msg}\n`);
};

const USAGE = `usage: node test/lab/cli.ts <command>
  up [N] [--swarm] [--managers K]   bring up N engines (default 3) + registry + images (+ swarm)
  down                              stop and delete everything of this lab, verify nothing is left
  status                            nodes, engine IDs, whether each answers (unix / tcp), registry
  env [NODE [--tcp]]                KEY=VALUE lines for all nodes, or "export DOCKER_HOST=..." for one
settings (env): LAB_DIR=/tmp/flotilla-lab LAB_PREFIX=flt LAB_NET=10.231 LAB_REGISTRY_PORT=5000
                LAB_REGISTRY_LOOPBACK=1 LAB_STORAGE_DRIVER=overlay2 LAB_DOCKERD_EXTRA_ARGS=`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const lab = new Lab({ log });
  switch (cmd) {
    case 'up': {
      const n = rest[0] && /^\d+$/.test(rest[0]) ? Number(rest[0]) : 3;
      const mi = rest.indexOf('--managers');
      const managers = mi >= 0 ? Number(rest[mi + 1]) : undefined;
      const st = await lab.up(n, { swarm: rest.includes('--swarm') || managers !== undefined, managers });
      log(`UP in ${((Date.now() - t0) / 1000).toFixed(2)}s total; state in ${lab.stateFile}`);
      process.stdout.write(`${await lab.status()}\n`);
      if (st.swarm) process.stdout.write(`swarm: managers ${st.swarm.managers.join(',')}; workers ${st.swarm.workers.join(',') || '-'}\n`);
      return 0;
    }
    case 'down':
      await lab.down();
      return 0;
    case 'status':
      process.stdout.write(`${await lab.status()}\n`);
      return 0;
    case 'env': {
      const st = await lab.state();
      if (rest[0]) {
        const want = rest[0].replace(new RegExp(`^${st.prefix}-`), '');
        const node = st.nodes.find((n) => n.name === want || n.name === `node${want}`);
        if (!node) throw new LabError(`no node '${rest[0]}' (have ${st.nodes.map((n) => n.name).join(', ')})`);
        process.stdout.write(`export DOCKER_HOST=${rest.includes('--tcp') ? node.tcp : node.unix}\n`);
        return 0;
      }
      const lines = [`FLOTILLA_LAB_STATE=${lab.stateFile}`, `LAB_NODES=${st.nodes.length}`, `LAB_REGISTRY=${st.registry.lab}`];
      if (st.registry.loopback) lines.push(`LAB_REGISTRY_LOOPBACK=${st.registry.loopback}`);
      lines.push(`LAB_IMAGE_BUSYBOX1=${st.images.busybox1}`, `LAB_IMAGE_BUSYBOX2=${st.images.busybox2}`);
      for (const n of st.nodes) {
        const k = n.name.toUpperCase().replace(/-/g, '_');
        lines.push(`LAB_${k}_DOCKER_HOST=${n.unix}`, `LAB_${k}_TCP=${n.tcp}`, `LAB_${k}_ADDR=${n.ip}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      throw new LabError(`unknown command '${cmd}'`);
  }
}

main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (e: unknown) => {
    process.stderr.write(`lab: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.LAB_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
