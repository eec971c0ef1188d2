// The product's version, in one place: package.json's `version`, read once at
// start-up, unless FLOTILLA_VERSION says otherwise. An image build stamps the
// version it was built as that way (`--build-arg FLOTILLA_VERSION=…` becomes
// `ENV FLOTILLA_VERSION` in deploy/*.Dockerfile), so the agent reports the
// version of its image, which is what agent self-update (SPEC S15) compares.
import fs from 'node:fs';
import { ConfigError } from './config.ts';

/** Semver-like and safe as a Docker tag (plus `+` for build metadata): 1–128 of [0-9A-Za-z.+_-]. */
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$/;

/** The version from FLOTILLA_VERSION (when set and not empty), else from the package.json text. */
export function resolveVersion(env: NodeJS.ProcessEnv, packageJsonText: string): string {
  const stamped = env.FLOTILLA_VERSION;
  if (stamped !== undefined && stamped !== '') {
    if (!VERSION_PATTERN.test(stamped)) {
      throw new ConfigError(`invalid configuration:\n  FLOTILLA_VERSION: 1-128 of letters, digits and . + _ -, starting with a letter or digit (got ${JSON.stringify(stamped)})`);
    }
    return stamped;
  }
  const version = (JSON.parse(packageJsonText) as { version?: unknown }).version;
  if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) {
    throw new Error(`package.json has no usable "version" (got ${JSON.stringify(version)})`);
  }
  return version;
}

export const PACKAGE_JSON = new URL('../package.json', import.meta.url);

/** This process's Flotilla version (server and agent alike). */
export const VERSION: string = resolveVersion(process.env, fs.readFileSync(PACKAGE_JSON, 'utf8'));
