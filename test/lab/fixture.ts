// What test suites import to use the lab: the state written by `cli.ts up`
// (or Lab.up) and a Lab instance for fault operations on their own nodes.
//
//   import { labState, lab } from '../lab/fixture.ts';
//   const st = await labState();               // throws if the lab is not up
//   const node1 = st.nodes[0];                 // { unix, tcp, ip, engineId, ... }
//   const mine = await lab().addNode(`t${process.pid}`);   // break only your own node
//   try { await lab().killEngine(mine.name); ... } finally { await lab().removeNode(mine.name); }
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Lab } from './lab.ts';
import type { LabNode, LabState } from './types.ts';

export type { LabNode, LabState } from './types.ts';
export type { AddNodeOptions, LabOptions, StopOptions, UpOptions } from './lab.ts';
export { Lab, LabError } from './lab.ts';

/** Path of the state file: $FLOTILLA_LAB_STATE, else $LAB_DIR/lab.json (LAB_DIR default /tmp/flotilla-lab). */
export function labStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOTILLA_LAB_STATE || path.join(env.LAB_DIR || '/tmp/flotilla-lab', 'lab.json');
}

export async function labState(): Promise<LabState> {
  const file = labStatePath();
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`lab is not up: run node test/lab/cli.ts up 3 (no ${file})`);
    }
    throw e;
  }
  return JSON.parse(text) as LabState;
}

/**
 * The nodes brought up by `cli.ts up N` (node1..nodeN). lab.json also lists nodes
 * that fault tests in other processes add (and break) while your test runs: pick
 * shared nodes from here, never "the last node" of st.nodes.
 */
export function sharedNodes(st: LabState): LabNode[] {
  return st.nodes.filter((n) => /^node\d+$/.test(n.name));
}

let shared: Lab | undefined;

/** The Lab for this process's settings (LAB_DIR / LAB_PREFIX / LAB_NET ...). */
export function lab(): Lab {
  shared ??= new Lab();
  return shared;
}
