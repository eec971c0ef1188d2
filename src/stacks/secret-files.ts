// Secret files: their contents reach the engine and nowhere else. A recorded
// deployment keeps every file it was given but these; deploying it again uses
// the secret as it already is in the cluster (KEEP_EXISTING_SECRET).
import YAML from 'yaml';

/** Stands for "the content Flotilla did not keep": the deploy step then requires the secret to exist already. */
export const KEEP_EXISTING_SECRET = '\u0000flotilla: secret content not stored\u0000';

/** The `file:` paths of the top-level secrets of a Compose file (empty when it does not parse: the loader will say why). */
export function secretFilePaths(compose: string): string[] {
  try {
    const doc = YAML.parse(compose) as { secrets?: Record<string, { file?: unknown } | null> } | null;
    return Object.values(doc?.secrets ?? {}).map((s) => s?.file).filter((f): f is string => typeof f === 'string');
  } catch {
    return [];
  }
}
