// Secrets and configs share the CLI's "file object" rules: stack-owned ones are
// named `<stack>_<key>` (or `name:`), labelled with the stack, and carry their
// content (from the files handed in, base64 in Spec.Data); external ones are
// looked up by name. A service references them by name with a file target
// (default: the key; the engine puts a relative secret name under /run/secrets/,
// a relative config name under /), UID/GID "0" and mode 0444.
import type { PlannedData } from '../types.ts';
import type { SwarmDataSpec } from '../../docker/secrets.ts';
import type { FileTarget } from './engine-types.ts';
import { externalName, scopedName, stackLabels } from './naming.ts';
import { byteOrder, fail, isDict, optionalString, stringMap, type Dict } from './values.ts';

export type FileObjectKind = 'secret' | 'config';

function section(project: Dict, kind: FileObjectKind): Dict {
  const s = project[`${kind}s`];
  return isDict(s) ? s : {};
}

function declaration(project: Dict, kind: FileObjectKind, key: string): Dict | undefined {
  const all = section(project, kind);
  if (!(key in all)) return undefined;
  return isDict(all[key]) ? (all[key] as Dict) : {};
}

function contentOf(decl: Dict, kind: FileObjectKind, files: Record<string, string>, at: string): string {
  const file = optionalString(decl.file, `${at}.file`);
  if (file !== undefined) {
    const text = files[file];
    if (text === undefined) return fail(`${at}.file`, `the contents of ${file} were not provided`);
    return Buffer.from(text, 'utf8').toString('base64');
  }
  const inline = optionalString(decl.content, `${at}.content`);
  if (kind === 'config' && inline !== undefined) return Buffer.from(inline, 'utf8').toString('base64');
  if (decl.environment !== undefined) return fail(`${at}.environment`, `a ${kind} from an environment variable is not supported; give its file`);
  return fail(at, `a ${kind} needs file${kind === 'config' ? ' or content' : ''}, or external: true`);
}

function ownedSpec(decl: Dict, kind: FileObjectKind, key: string, stack: string, files: Record<string, string>): SwarmDataSpec {
  const at = `${kind}s.${key}`;
  const spec: SwarmDataSpec = { Name: scopedName(decl, stack, key, at), Labels: stackLabels(stack, stringMap(decl.labels, `${at}.labels`)) };
  const driver = kind === 'secret' ? optionalString(decl.driver, `${at}.driver`) : undefined;
  if (driver) {
    if (decl.file !== undefined) fail(at, 'secret.driver and secret.file conflict; only use secret.driver');
    spec.Data = ''; // a driver secret's value comes from the driver
    spec.Driver = { Name: driver, ...(decl.driver_opts === undefined ? {} : { Options: stringMap(decl.driver_opts, `${at}.driver_opts`) }) };
  } else {
    spec.Data = contentOf(decl, kind, files, at);
  }
  const templating = optionalString(decl.template_driver, `${at}.template_driver`);
  if (templating) spec.Templating = { Name: templating };
  return spec;
}

/** Every top-level secret or config (used by a service or not, as the CLI creates them all), sorted by name. */
export function convertFileObjects(project: Dict, kind: FileObjectKind, stack: string, files: Record<string, string>): PlannedData[] {
  const out = Object.keys(section(project, kind)).map((key): PlannedData => {
    const decl = declaration(project, kind, key)!;
    const ext = externalName(decl, key, `${kind}s.${key}`);
    if (ext !== undefined) return { name: ext, external: true, spec: { Name: ext } };
    const spec = ownedSpec(decl, kind, key, stack, files);
    return { name: spec.Name, external: false, spec };
  });
  return out.sort((a, b) => byteOrder(a.name, b.name));
}

function fileMode(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0o444;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^0?o?[0-7]+$/.test(value)) return parseInt(value.replace(/^0o/, ''), 8);
  return fail(path, 'must be a file mode such as 0o440');
}

export interface FileReference { name: string; file: FileTarget }

/** A service's `secrets:` or `configs:` list → references by name, sorted by name, one per target. */
export function fileReferences(project: Dict, kind: FileObjectKind, value: unknown, path: string, stack: string): FileReference[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail(path, 'must be a list');
  const byTarget = new Map<string, FileReference>();
  for (const [i, entry] of value.entries()) {
    const at = `${path}[${i}]`;
    const ref: Dict = typeof entry === 'string' ? { source: entry } : isDict(entry) ? entry : fail(at, 'must be a name or a mapping');
    const source = optionalString(ref.source, `${at}.source`);
    if (!source) return fail(`${at}.source`, 'is required');
    const decl = declaration(project, kind, source);
    if (decl === undefined) return fail(at, `undefined ${kind} "${source}"`);
    const name = externalName(decl, source, `${kind}s.${source}`) ?? scopedName(decl, stack, source, `${kind}s.${source}`);
    const file: FileTarget = {
      Name: optionalString(ref.target, `${at}.target`) || source,
      UID: optionalString(ref.uid, `${at}.uid`) || '0',
      GID: optionalString(ref.gid, `${at}.gid`) || '0',
      Mode: fileMode(ref.mode, `${at}.mode`),
    };
    if (byTarget.has(file.Name)) return fail(at, `duplicate ${kind} target for ${name} not allowed`);
    byTarget.set(file.Name, { name, file });
  }
  return [...byTarget.values()].sort((a, b) => byteOrder(a.name, b.name));
}
