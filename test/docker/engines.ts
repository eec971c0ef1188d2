// The lab for the Docker client tests, read through the lab fixture. Without a
// lab these suites skip and say why — except under scripts/test.sh, which sets
// FLOTILLA_REQUIRE_LAB=1 so a missing lab fails loudly instead of passing quietly.
import { existsSync, readFileSync } from 'node:fs';
import { labStatePath as fixturePath, sharedNodes } from '../lab/fixture.ts';
import type { LabState } from '../lab/fixture.ts';

export type { LabNode, LabState } from '../lab/fixture.ts';

export const labStatePath = fixturePath();

export function labState(): LabState | undefined {
  if (!existsSync(labStatePath)) {
    if (process.env.FLOTILLA_REQUIRE_LAB === '1') throw new Error(`lab is not up: no ${labStatePath}`);
    return undefined;
  }
  const state = JSON.parse(readFileSync(labStatePath, 'utf8')) as LabState;
  // Only the shared nodes: a node another test added for itself may be killed at any moment.
  return { ...state, nodes: sharedNodes(state) };
}

export const noLab = labState() ? false : `no lab state at ${labStatePath} (start it: node test/lab/cli.ts up 3)`;
