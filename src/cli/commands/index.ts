// Commands that talk to a running server over the REST API.
import type { Command } from 'commander';

export function registerClientCommands(_program: Command): void {
  // filled in by the CLI client commands
}
