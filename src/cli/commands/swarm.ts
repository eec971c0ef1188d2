// (stub: filled in by the Swarm work on this group)
import type { Command } from 'commander';

export function registerSwarmCommands(_program: Command): void {}
