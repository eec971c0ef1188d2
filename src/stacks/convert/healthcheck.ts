// `healthcheck:` → ContainerSpec.Healthcheck: a string test runs in a shell
// (CMD-SHELL), a list is passed as written, `disable` becomes ["NONE"].
import { optionalDuration } from './durations.ts';
import type { HealthConfig } from './engine-types.ts';
import { fail, isDict, optionalBool, optionalCount } from './values.ts';

function testCommand(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return ['CMD-SHELL', value];
  if (Array.isArray(value)) return value.map((v) => String(v));
  return fail(path, 'must be a string or a list');
}

export function convertHealthcheck(value: unknown, path: string): HealthConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isDict(value)) return fail(path, 'must be a mapping');
  const test = testCommand(value.test, `${path}.test`);
  if (optionalBool(value.disable, `${path}.disable`)) {
    if (test && test.length > 0) fail(path, "test and disable can't be set at the same time");
    return { Test: ['NONE'] };
  }
  const hc: HealthConfig = {};
  if (test) hc.Test = test;
  const fields = [['Interval', 'interval'], ['Timeout', 'timeout'], ['StartPeriod', 'start_period'], ['StartInterval', 'start_interval']] as const;
  for (const [engineKey, composeKey] of fields) {
    const ns = optionalDuration(value[composeKey], `${path}.${composeKey}`);
    if (ns) hc[engineKey] = ns;
  }
  const retries = optionalCount(value.retries, `${path}.retries`);
  if (retries) hc.Retries = retries;
  return hc;
}
