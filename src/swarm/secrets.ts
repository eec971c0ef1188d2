// Swarm secrets and configs of one cluster, one module for both kinds: create,
// list, inspect (metadata only: content never leaves Flotilla, configs' Data
// included), remove, and rotate (secret-rotation.ts). Values go to the engine
// and nowhere else: not returned, not logged, not stored, not audited.
import { z } from 'zod';
import type { DockerClient } from '../docker/client.ts';
import { createSwarmData, inspectSwarmData, listSwarmData, removeSwarmData, type SwarmDataKind, type SwarmDataObject } from '../docker/secrets.ts';
import { listServices, type SwarmService } from '../docker/swarm.ts';
import { BadRequest, Conflict, DockerApiError, FlotillaError, NotFound } from '../errors.ts';
import type { Swarm } from './swarm.ts';

export type DataKind = 'secret' | 'config';

/** What differs between the two kinds: API path, the service reference's field names, size limit. */
export const KINDS = {
  secret: { api: 'secrets' as SwarmDataKind, refs: 'Secrets', id: 'SecretID', name: 'SecretName', maxBytes: 500 * 1024 },
  config: { api: 'configs' as SwarmDataKind, refs: 'Configs', id: 'ConfigID', name: 'ConfigName', maxBytes: 1000 * 1024 },
} as const;

/** Labels that tie a rotated object to the name it started as, and its version. */
export const ROTATION_OF_LABEL = 'flotilla.rotation.of';
export const ROTATION_VERSION_LABEL = 'flotilla.rotation.version';

/** The engine's own rule for secret and config names (swarmkit), and its 64-character limit. */
export const dataName = z.string().min(1).max(64)
  .regex(/^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/, 'letters, digits, _ . - (starting and ending with a letter or digit), at most 64 characters');

export const fileTargetSchema = z.object({ name: z.string(), uid: z.string(), gid: z.string(), mode: z.number() });
export type FileTarget = z.infer<typeof fileTargetSchema>;

export const dataViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number(),
  driver: z.string().nullable(),
  templating: z.string().nullable(),
  /** Set on objects made by a rotation: the name the rotation started from, and this object's version. */
  rotation: z.object({ of: z.string(), version: z.number() }).nullable(),
});
export type DataView = z.infer<typeof dataViewSchema>;

export const dataDetailSchema = dataViewSchema.extend({
  usedBy: z.array(z.object({ id: z.string(), name: z.string(), target: fileTargetSchema.nullable() })),
});
export type DataDetail = z.infer<typeof dataDetailSchema>;

/** A service's reference to a secret or config, as in ContainerSpec.Secrets / Configs. */
export interface DataRef {
  File?: { Name: string; UID: string; GID: string; Mode: number };
  Runtime?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Metadata only: built field by field so that Spec.Data can never slip through. */
export function toDataView(o: SwarmDataObject): DataView {
  const labels = o.Spec.Labels ?? {};
  const of = labels[ROTATION_OF_LABEL];
  const version = Number(labels[ROTATION_VERSION_LABEL]);
  return {
    id: o.ID, name: o.Spec.Name, labels, createdAt: o.CreatedAt, updatedAt: o.UpdatedAt, version: o.Version.Index,
    driver: o.Spec.Driver?.Name ?? null, templating: o.Spec.Templating?.Name ?? null,
    rotation: of && Number.isInteger(version) ? { of, version } : null,
  };
}

export function refsOf(kind: DataKind, spec: SwarmService['Spec']['TaskTemplate'] | undefined): DataRef[] {
  const list = (spec?.ContainerSpec as Record<string, unknown> | undefined)?.[KINDS[kind].refs];
  return Array.isArray(list) ? (list as DataRef[]) : [];
}

export function refId(kind: DataKind, ref: DataRef): string | undefined {
  const v = ref[KINDS[kind].id];
  return typeof v === 'string' ? v : undefined;
}

export function fileTarget(ref: DataRef): FileTarget | null {
  return ref.File ? { name: ref.File.Name, uid: ref.File.UID, gid: ref.File.GID, mode: ref.File.Mode } : null;
}

/** The services whose spec references the object, with each reference. */
export function usersOf(kind: DataKind, services: SwarmService[], id: string): { service: SwarmService; refs: DataRef[] }[] {
  return services
    .map((service) => ({ service, refs: refsOf(kind, service.Spec.TaskTemplate).filter((r) => refId(kind, r) === id) }))
    .filter((u) => u.refs.length > 0);
}

/** Text or base64 from the caller → the base64 the engine wants; bad base64 and oversize content are 400 (never echoed). */
export function encodeData(kind: DataKind, data: string, encoding: 'text' | 'base64'): string {
  let bytes: Buffer;
  if (encoding === 'base64') {
    const compact = data.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw new BadRequest('data is not valid base64', 'body.data');
    bytes = Buffer.from(compact, 'base64');
  } else {
    bytes = Buffer.from(data, 'utf8');
  }
  if (bytes.length === 0) throw new BadRequest(`a ${kind} needs content: data is empty`, 'body.data');
  if (bytes.length > KINDS[kind].maxBytes) throw new BadRequest(`${kind} content is ${bytes.length} bytes, the engine takes at most ${KINDS[kind].maxBytes}`, 'body.data');
  return bytes.toString('base64');
}

export interface CreateDataInput {
  name: string;
  labels?: Record<string, string>;
  /** The content, as text or base64 per `encoding`. */
  data: string;
  encoding?: 'text' | 'base64';
}

export class SwarmData {
  readonly kind: DataKind;
  private readonly swarm: Swarm;

  constructor(swarm: Swarm, kind: DataKind) {
    this.swarm = swarm;
    this.kind = kind;
  }

  private get api(): SwarmDataKind {
    return KINDS[this.kind].api;
  }

  async list(cluster: string): Promise<DataView[]> {
    const objects = await this.swarm.withManager(cluster, (docker) => listSwarmData(docker, this.api));
    return objects.map(toDataView).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** By ID, ID prefix or name (the engine resolves them); unknown → 404 naming it. */
  async inspect(cluster: string, ref: string): Promise<DataDetail> {
    return this.swarm.withManager(cluster, async (docker) => {
      const obj = await this.find(docker, cluster, ref);
      const services = await listServices(docker);
      const usedBy = usersOf(this.kind, services, obj.ID).map(({ service, refs }) => ({
        id: service.ID, name: service.Spec.Name ?? service.ID, target: fileTarget(refs[0]!),
      }));
      return { ...toDataView(obj), usedBy };
    });
  }

  async create(cluster: string, input: CreateDataInput): Promise<DataView> {
    const name = dataName.safeParse(input.name);
    if (!name.success) throw new BadRequest(`${this.kind} name: ${name.error.issues[0]?.message}`, 'body.name');
    const data = encodeData(this.kind, input.data, input.encoding ?? 'text');
    return this.swarm.withManager(cluster, async (docker) => {
      const { ID } = await this.createOnce(docker, { Name: input.name, Labels: input.labels ?? {}, Data: data });
      return toDataView(await inspectSwarmData(docker, this.api, ID));
    });
  }

  /** The engine refuses a second object of one name with 409: its message is passed on. */
  async createOnce(docker: DockerClient, spec: { Name: string; Labels: Record<string, string>; Data: string; Templating?: SwarmDataObject['Spec']['Templating'] }): Promise<{ ID: string }> {
    try {
      return await createSwarmData(docker, this.api, spec);
    } catch (err) {
      if (err instanceof DockerApiError && /already exists/i.test(err.message)) throw new Conflict(err.message);
      throw err;
    }
  }

  /** A secret or config a service still uses is 409 with the engine's message (which names the services). */
  async remove(cluster: string, ref: string): Promise<{ id: string; name: string }> {
    return this.swarm.withManager(cluster, async (docker) => {
      const obj = await this.find(docker, cluster, ref);
      await this.removeById(docker, obj.ID);
      return { id: obj.ID, name: obj.Spec.Name };
    });
  }

  async removeById(docker: DockerClient, id: string): Promise<void> {
    try {
      await removeSwarmData(docker, this.api, id);
    } catch (err) {
      if (err instanceof FlotillaError && !(err instanceof NotFound) && /in use/i.test(err.message)) throw new Conflict(err.message);
      throw err;
    }
  }

  async find(docker: DockerClient, cluster: string, ref: string): Promise<SwarmDataObject> {
    try {
      return await inspectSwarmData(docker, this.api, ref);
    } catch (err) {
      if (err instanceof NotFound) throw new NotFound(`${this.kind} "${ref}" not found in swarm cluster "${cluster}"`);
      throw err;
    }
  }
}
