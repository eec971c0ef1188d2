// (stub: filled in by the Swarm work on this group)
import type { Command } from 'commander';

export function registerNodeCommands(_program: Command): void {}
