// (stub: filled in by the Swarm work on this group)
import type { Command } from 'commander';

export function registerServiceCommands(_program: Command): void {}
