// What docker stack deploy does to a valid document before converting it:
// env_file contents merged under environment (as a map), the files secrets and
// configs name resolved from the input, references checked, Swarm's limits applied.
import { posix } from 'node:path';
import { type DocPath, type LoadContext, type Mapping, composeError, isMapping } from './context.ts';
import { EnvFileError, parseEnvFile } from './dotenv.ts';
import { checkSwarmSupport } from './swarm-support.ts';

/** Mutates the (freshly built) project in place; returns the files secrets and configs use, by the path written. */
export function normalizeProject(project: Mapping, ctx: LoadContext): Record<string, string> {
  checkVersion(project, ctx);
  checkSwarmSupport(project, ctx);
  const services = isMapping(project.services) ? project.services : {};
  for (const [name, service] of Object.entries(services)) {
    if (!isMapping(service)) throw composeError(ctx, ['services', name], 'must be a mapping');
    checkImage(service, ['services', name], ctx);
    resolveEnvironment(service, ['services', name], ctx);
    checkReferences(project, service, ['services', name], ctx);
  }
  return { ...resolveDataFiles(project, 'secrets', ctx), ...resolveDataFiles(project, 'configs', ctx) };
}

// The Compose Specification ignores `version`; docker stack deploy only ever took 3.x files.
function checkVersion(project: Mapping, ctx: LoadContext): void {
  if (project.version === undefined) return;
  const version = String(project.version);
  const major = Number(version.split('.')[0]);
  if (Number.isFinite(major) && major < 3) {
    throw composeError(ctx, ['version'], `Compose file version ${version} cannot be deployed to Swarm: use a version 3 file or remove "version" and follow the Compose Specification`);
  }
  ctx.warnings.push('version: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion');
}

// distribution/reference's grammar, loosely: [domain[:port]/]path[:tag][@digest], or a bare image ID.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?/)?` +
  `${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,})?$`,
);

function checkImage(service: Mapping, path: DocPath, ctx: LoadContext): void {
  const image = service.image;
  if (image === undefined || image === '') throw composeError(ctx, [...path, 'image'], 'no image specified (Swarm runs images, it does not build them)');
  if (typeof image === 'string' && !IMAGE_REFERENCE.test(image) && !/^(sha256:)?[a-f0-9]{64}$/.test(image)) {
    throw composeError(ctx, [...path, 'image'], `invalid image reference "${image}"`);
  }
}

/** A file the input gave by the path written in the Compose file, `./a.env` and `a.env` alike. */
function findFile(files: LoadContext['files'], written: string): string | undefined {
  if (Object.hasOwn(files, written)) return files[written];
  const wanted = posix.normalize(written);
  const key = Object.keys(files).find((k) => posix.normalize(k) === wanted);
  return key === undefined ? undefined : files[key];
}

/** `environment` (list or map) over the env_file entries in order, as one map; a variable without a value is null. */
function resolveEnvironment(service: Mapping, path: DocPath, ctx: LoadContext): void {
  const lookup = (name: string): string | undefined => (Object.hasOwn(ctx.env, name) ? ctx.env[name] : undefined);
  const environment: Record<string, string | null> = {};
  const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  envFiles.forEach((written: string, i) => {
    const entryPath = Array.isArray(service.env_file) ? [...path, 'env_file', i] : [...path, 'env_file'];
    const text = findFile(ctx.files, written);
    if (text === undefined) throw composeError(ctx, entryPath, `file "${written}" was not given`);
    try {
      for (const [key, value] of parseEnvFile(text, lookup)) environment[key] = value;
    } catch (err) {
      if (err instanceof EnvFileError) throw composeError(ctx, entryPath, `file "${written}" ${err.message}`);
      throw err;
    }
  });
  for (const [key, value] of environmentEntries(service.environment)) {
    // `KEY` with no value takes it from the env given, else stays unset (null), as the CLI does.
    environment[key] = value ?? lookup(key) ?? null;
  }
  delete service.env_file;
  if (envFiles.length > 0 || service.environment !== undefined) service.environment = environment;
}

function environmentEntries(environment: unknown): [string, string | null][] {
  if (Array.isArray(environment)) {
    return environment.map((item: string) => {
      const eq = item.indexOf('=');
      return eq === -1 ? [item, null] : [item.slice(0, eq), item.slice(eq + 1)];
    });
  }
  if (!isMapping(environment)) return [];
  return Object.entries(environment).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]);
}

/** Top-level secrets/configs: an `external` one is looked up in the cluster; any other needs its file in the input. */
function resolveDataFiles(project: Mapping, section: 'secrets' | 'configs', ctx: LoadContext): Record<string, string> {
  const files: Record<string, string> = {};
  const objects = isMapping(project[section]) ? project[section] : {};
  for (const [name, object] of Object.entries(objects)) {
    if (!isMapping(object) || object.external === true) continue;
    if (object.driver !== undefined && object.file === undefined) continue;
    if (object.driver !== undefined) throw composeError(ctx, [section, name], '"driver" and "file" conflict; only use "driver"');
    const written = object.file;
    if (typeof written !== 'string') throw composeError(ctx, [section, name], 'needs "file" (its content given with the stack) or "external: true"');
    const content = findFile(ctx.files, written);
    if (content === undefined) throw composeError(ctx, [section, name, 'file'], `file "${written}" was not given`);
    files[written] = content;
  }
  return files;
}

/** Every network, secret, config and named volume a service uses is declared at the top level (the CLI's convert refuses otherwise). */
function checkReferences(project: Mapping, service: Mapping, path: DocPath, ctx: LoadContext): void {
  const declared = (section: string, name: string): boolean => isMapping(project[section]) && Object.hasOwn(project[section], name);
  const networks = Array.isArray(service.networks) ? service.networks : isMapping(service.networks) ? Object.keys(service.networks) : [];
  networks.forEach((network: string, i) => {
    const where = Array.isArray(service.networks) ? [...path, 'networks', i] : [...path, 'networks', network];
    if (network !== 'default' && !declared('networks', network)) throw composeError(ctx, where, `network "${network}" is not declared under the top-level "networks"`);
  });
  for (const section of ['secrets', 'configs'] as const) {
    const refs = Array.isArray(service[section]) ? service[section] : [];
    refs.forEach((ref: unknown, i) => {
      const source = isMapping(ref) ? ref.source : ref;
      if (typeof source === 'string' && !declared(section, source)) {
        throw composeError(ctx, [...path, section, i], `${section.slice(0, -1)} "${source}" is not declared under the top-level "${section}"`);
      }
    });
  }
  const volumes = Array.isArray(service.volumes) ? service.volumes : [];
  volumes.forEach((volume: unknown, i) => {
    const source = namedVolumeSource(volume);
    if (source !== undefined && !declared('volumes', source)) {
      throw composeError(ctx, [...path, 'volumes', i], `volume "${source}" is not declared under the top-level "volumes"`);
    }
  });
}

/** The volume name a service volume mounts, or undefined for binds, tmpfs and anonymous volumes. */
function namedVolumeSource(volume: unknown): string | undefined {
  if (isMapping(volume)) return volume.type === 'volume' && typeof volume.source === 'string' && volume.source !== '' ? volume.source : undefined;
  if (typeof volume !== 'string') return undefined;
  const parts = volume.split(':');
  // A source that is not a path (/, ., ~, or a Windows drive) is a volume name.
  if (parts.length < 2 || /^[/.~]/.test(parts[0]) || /^[a-zA-Z]$/.test(parts[0])) return undefined;
  return parts[0];
}
