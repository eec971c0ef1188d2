// A service's `volumes:` → Mounts, as the CLI's convert/volume.go does: named
// volumes become `<stack>_<name>` (or their `name:`) carrying the stack label and
// the top-level driver/driver_opts/labels, which the engine uses when it creates
// the volume on a node; external volumes keep their name and get no options.
import { optionalBytes } from './bytes.ts';
import type { Mount } from './engine-types.ts';
import { externalName, stackLabels } from './naming.ts';
import { fail, isDict, optionalBool, optionalString, stringMap, type Dict } from './values.ts';

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

interface VolumeEntry {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  consistency?: string;
  bind?: Dict;
  volume?: Dict;
  tmpfs?: Dict;
}

/** The CLI loader's ParseVolume: `[source:]target[:options]`, options ro, rw, nocopy and a propagation. */
export function parseShortVolume(spec: string, path: string): VolumeEntry {
  if (spec === '') return fail(path, 'invalid empty volume spec');
  const parts: string[] = [];
  let buffer = '';
  for (const ch of spec) {
    // A Windows drive letter (C:) is part of the path, not a separator.
    if (ch === ':' && !(buffer.length === 1 && /[A-Za-z]/.test(buffer))) {
      parts.push(buffer);
      buffer = '';
    } else buffer += ch;
  }
  parts.push(buffer);
  if (spec.length <= 2) return { type: 'volume', source: '', target: spec, readOnly: false };
  if (parts.some((p) => p === '')) return fail(path, `invalid spec: ${spec}: empty section between colons`);
  if (parts.length > 3) return fail(path, `invalid spec: ${spec}: too many colons`);
  const [source, target] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  const entry: VolumeEntry = { type: isFilePath(source) ? 'bind' : 'volume', source, target, readOnly: false };
  for (const option of (parts[2] ?? '').split(',')) {
    if (option === 'ro') entry.readOnly = true;
    else if (option === 'rw') entry.readOnly = false;
    else if (option === 'nocopy') entry.volume = { nocopy: true };
    else if (PROPAGATIONS.has(option)) entry.bind = { propagation: option };
  }
  return entry;
}

function isFilePath(source: string): boolean {
  if (source === '') return false;
  if ('./~'.includes(source[0]!) || source.startsWith('\\\\')) return true;
  return /^[A-Za-z]:/.test(source);
}

function longVolume(v: Dict, path: string): VolumeEntry {
  const type = optionalString(v.type, `${path}.type`);
  if (!type) return fail(`${path}.type`, 'is required');
  const target = optionalString(v.target, `${path}.target`) ?? '';
  const entry: VolumeEntry = { type, source: optionalString(v.source, `${path}.source`) ?? '', target, readOnly: optionalBool(v.read_only, `${path}.read_only`) ?? false };
  entry.consistency = optionalString(v.consistency, `${path}.consistency`);
  for (const key of ['bind', 'volume', 'tmpfs'] as const) {
    if (v[key] === undefined || v[key] === null) continue;
    if (!isDict(v[key])) fail(`${path}.${key}`, 'must be a mapping');
    entry[key] = v[key];
  }
  return entry;
}

/** What every mount type shares (createMountFromVolume). */
function baseMount(e: VolumeEntry): Mount {
  const m: Mount = { Type: e.type, Target: e.target };
  if (e.source) m.Source = e.source;
  if (e.readOnly) m.ReadOnly = true;
  if (e.consistency) m.Consistency = e.consistency;
  return m;
}

function refuseOptions(e: VolumeEntry, path: string, allowed: (keyof VolumeEntry)[]): void {
  for (const key of ['bind', 'volume', 'tmpfs'] as const) {
    if (e[key] !== undefined && !allowed.includes(key)) fail(path, `${key} options are incompatible with type ${e.type}`);
  }
}

function namedVolumeMount(e: VolumeEntry, path: string, stack: string, topLevel: Dict): Mount {
  refuseOptions(e, path, ['volume']);
  const m = baseMount(e);
  if (e.source === '') return m; // anonymous: the engine makes one per task
  if (!(e.source in topLevel)) return fail(path, `undefined volume "${e.source}"`);
  const decl = isDict(topLevel[e.source]) ? (topLevel[e.source] as Dict) : {};
  const at = `volumes.${e.source}`;
  const external = externalName(decl, e.source, at);
  m.Source = external ?? optionalString(decl.name, `${at}.name`) ?? `${stack}_${e.source}`;
  m.VolumeOptions = {};
  if (e.volume?.nocopy !== undefined) m.VolumeOptions.NoCopy = optionalBool(e.volume.nocopy, `${path}.volume.nocopy`);
  const subpath = optionalString(e.volume?.subpath, `${path}.volume.subpath`);
  if (subpath) m.VolumeOptions.Subpath = subpath;
  if (external !== undefined) return m;
  m.VolumeOptions.Labels = stackLabels(stack, stringMap(decl.labels, `${at}.labels`));
  const driver = optionalString(decl.driver, `${at}.driver`);
  const options = stringMap(decl.driver_opts, `${at}.driver_opts`);
  if (driver || options !== undefined) m.VolumeOptions.DriverConfig = { ...(driver ? { Name: driver } : {}), ...(options ? { Options: options } : {}) };
  return m;
}

function bindMount(e: VolumeEntry, path: string): Mount {
  refuseOptions(e, path, ['bind']);
  if (e.source === '') return fail(path, 'invalid bind source, source cannot be empty');
  // The CLI makes ./ and ~ paths absolute on the client's disk; on a cluster node they mean nothing.
  if (!e.source.startsWith('/') && !/^[A-Za-z]:/.test(e.source) && !e.source.startsWith('\\\\')) {
    return fail(path, `bind source ${e.source} must be an absolute path on the node`);
  }
  const m = baseMount(e);
  if (e.bind) {
    const propagation = optionalString(e.bind.propagation, `${path}.bind.propagation`);
    m.BindOptions = propagation ? { Propagation: propagation } : {};
  }
  return m;
}

function tmpfsMount(e: VolumeEntry, path: string): Mount {
  refuseOptions(e, path, ['tmpfs']);
  if (e.source !== '') return fail(path, 'invalid tmpfs source, source must be empty');
  const m = baseMount(e);
  if (e.tmpfs) {
    m.TmpfsOptions = {};
    const size = optionalBytes(e.tmpfs.size, `${path}.tmpfs.size`);
    if (size) m.TmpfsOptions.SizeBytes = size;
    // The CLI drops tmpfs.mode; the engine honours it, and Compose documents it.
    const mode = e.tmpfs.mode;
    if (typeof mode === 'number') m.TmpfsOptions.Mode = mode;
    else if (typeof mode === 'string' && /^[0-7]+$/.test(mode)) m.TmpfsOptions.Mode = parseInt(mode, 8);
    else if (mode !== undefined && mode !== null) fail(`${path}.tmpfs.mode`, 'must be a file mode such as 0o1777');
  }
  return m;
}

export function convertVolumes(value: unknown, path: string, stack: string, topLevel: Dict): Mount[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail(path, 'must be a list');
  return value.map((raw, i) => {
    const at = `${path}[${i}]`;
    const e = typeof raw === 'string' ? parseShortVolume(raw, at) : isDict(raw) ? longVolume(raw, at) : fail(at, 'must be a string or a mapping');
    if (e.type === 'volume') return namedVolumeMount(e, at, stack, topLevel);
    if (e.type === 'bind' || e.type === 'npipe') return bindMount(e, at);
    if (e.type === 'tmpfs') return tmpfsMount(e, at);
    return fail(`${at}.type`, `volume type ${e.type} is not supported (volume, bind, tmpfs or npipe)`);
  });
}
