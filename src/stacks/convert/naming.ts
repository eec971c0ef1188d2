// Stack scoping shared by every object kind: `<stack>_<name>`, the namespace label,
// and how a top-level object says it is external (and under which name).
import { fail, isDict, optionalString, type Dict } from './values.ts';

export const LABEL_NAMESPACE = 'com.docker.stack.namespace';
export const LABEL_IMAGE = 'com.docker.stack.image';

/** The given labels plus the namespace label (which wins, as the CLI sets it last). */
export function stackLabels(stack: string, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...labels, [LABEL_NAMESPACE]: stack };
}

/**
 * The name an external object is looked up by, or undefined when it is not external:
 * `name:`, else the deprecated `external.name`, else the key (the CLI loader's rule).
 */
export function externalName(decl: Dict, key: string, path: string): string | undefined {
  const ext = decl.external;
  if (ext === undefined || ext === null || ext === false) return undefined;
  const name = optionalString(decl.name, `${path}.name`);
  if (isDict(ext)) {
    const legacy = optionalString(ext.name, `${path}.external.name`);
    if (legacy && name) fail(path, 'external.name and name conflict; only use name');
    return legacy ?? name ?? key;
  }
  if (ext !== true) return fail(`${path}.external`, 'must be a boolean');
  return name ?? key;
}

/** The name of a stack-owned object: `name:` as written, else `<stack>_<key>`. */
export function scopedName(decl: Dict, stack: string, key: string, path: string): string {
  return optionalString(decl.name, `${path}.name`) ?? `${stack}_${key}`;
}
