// Reads the test lab's state file (written by the lab harness). Kept tiny on purpose:
// test/lab/fixture.ts's labState() can replace it.
import { existsSync, readFileSync } from 'node:fs';

export interface LabNode {
  name: string;
  hostname: string;
  ip: string;
  netns: string;
  unix: string;
  tcp: string;
  engineId: string;
  pidfile: string;
}

export interface LabState {
  dir: string;
  prefix: string;
  net: string;
  registry: { lab: string; loopback: string | null };
  images: { busybox1: string; busybox2: string };
  swarm: { managers: string[]; workers: string[] };
  nodes: LabNode[];
}

export const labStatePath = process.env.FLOTILLA_LAB_STATE ?? '/tmp/flotilla-lab/lab.json';

/** The lab, or undefined when none is up (tests then skip, saying why). */
export function labState(): LabState | undefined {
  if (!existsSync(labStatePath)) return undefined;
  return JSON.parse(readFileSync(labStatePath, 'utf8')) as LabState;
}

export const noLab = existsSync(labStatePath) ? false : `no lab state at ${labStatePath} (set FLOTILLA_LAB_STATE)`;
