// (stub: filled in by the Swarm work on this group)
import type { Command } from 'commander';

export function registerSecretCommands(_program: Command): void {}
