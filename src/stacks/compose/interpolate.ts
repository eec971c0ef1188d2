// ${VAR} interpolation of every string value of a Compose document (never keys),
// with the Compose Specification's forms, values taken only from the given env.
import { type DocPath, type LoadContext, composeError, isMapping } from './context.ts';

class TemplateError extends Error {}

type Lookup = (name: string) => string | undefined;

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;

/**
 * Substitutes the variables of one string. `onUnset` hears each variable used
 * without a default that has no value at all (docker compose warns about those).
 * Defaults, replacements and error messages are themselves templates (`${A:-${B}}`),
 * evaluated only when used, so a `:?` inside an unused default does not fire.
 */
export function substitute(template: string, lookup: Lookup, onUnset: (name: string) => void): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) return out + template.slice(i);
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const close = matchingBrace(template, dollar + 2);
      out += evaluateBraced(template.slice(dollar + 2, close), lookup, onUnset);
      i = close + 1;
    } else {
      const name = NAME.exec(template.slice(dollar + 1))?.[0];
      if (name === undefined) throw new TemplateError('invalid interpolation format: you may need to escape any $ with another $');
      out += plainValue(name, lookup, onUnset);
      i = dollar + 1 + name.length;
    }
  }
  return out;
}

/** Index of the `}` closing the `${` whose body starts at `start`, counting nested `${…}`. */
function matchingBrace(template: string, start: number): number {
  let depth = 1;
  for (let j = start; j < template.length; j++) {
    if (template[j] === '$' && template[j + 1] === '$') j++;
    else if (template[j] === '$' && template[j + 1] === '{') { depth++; j++; }
    else if (template[j] === '}' && --depth === 0) return j;
  }
  throw new TemplateError(`invalid interpolation format: "\${" without its closing "}"`);
}

function plainValue(name: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const value = lookup(name);
  if (value === undefined) onUnset(name);
  return value ?? '';
}

function evaluateBraced(body: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) throw new TemplateError(`invalid interpolation format "\${${body}}": a variable name is expected`);
  const rest = body.slice(name.length);
  if (rest === '') return plainValue(name, lookup, onUnset);
  const op = OPERATORS.find((o) => rest.startsWith(o));
  if (op === undefined) throw new TemplateError(`invalid interpolation format "\${${body}}"`);
  const argument = (): string => substitute(rest.slice(op.length), lookup, onUnset);
  const value = lookup(name);
  // The colon forms treat an empty value like a missing one.
  const present = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (op) {
    case ':-': case '-':
      return present ? value! : argument();
    case ':+': case '+':
      return present ? argument() : '';
    case ':?': case '?': {
      if (present) return value!;
      const reason = argument();
      throw new TemplateError(`required variable ${name} is missing a value${reason === '' ? '' : `: ${reason}`}`);
    }
  }
}

// After interpolation, values at these paths are cast back to the type the schema
// wants (docker/cli's interpolateTypeCastMapping): `replicas: ${N}` must stay an
// integer. Only values that interpolation changed are cast; YAML's own are left alone.
type Cast = (text: string) => unknown;
const toInt: Cast = (t) => { if (!/^[+-]?\d+$/.test(t)) throw new TemplateError(`"${t}" is not an integer`); return Number(t); };
const toFloat: Cast = (t) => { const n = Number(t); if (t.trim() === '' || Number.isNaN(n)) throw new TemplateError(`"${t}" is not a number`); return n; };
const toBool: Cast = (t) => {
  const v = t.toLowerCase();
  if (['y', 'yes', 'true', 'on'].includes(v)) return true;
  if (['n', 'no', 'false', 'off'].includes(v)) return false;
  throw new TemplateError(`"${t}" is not a boolean`);
};
const SERVICE_CASTS: [string, Cast][] = [
  ['configs.[].mode', toInt], ['secrets.[].mode', toInt], ['healthcheck.retries', toInt], ['healthcheck.disable', toBool],
  ['deploy.replicas', toInt], ['deploy.update_config.parallelism', toInt], ['deploy.update_config.max_failure_ratio', toFloat],
  ['deploy.rollback_config.parallelism', toInt], ['deploy.rollback_config.max_failure_ratio', toFloat],
  ['deploy.restart_policy.max_attempts', toInt], ['deploy.placement.max_replicas_per_node', toInt],
  ['ports.[].target', toInt], ['ports.[].published', toInt], ['ulimits.*', toInt], ['ulimits.*.hard', toInt], ['ulimits.*.soft', toInt],
  ['privileged', toBool], ['oom_score_adj', toInt], ['read_only', toBool], ['stdin_open', toBool], ['tty', toBool], ['init', toBool],
  ['volumes.[].read_only', toBool], ['volumes.[].volume.nocopy', toBool],
];
const CASTS: [string[], Cast][] = [
  ...SERVICE_CASTS.map(([p, c]): [string[], Cast] => [['services', '*', ...p.split('.')], c]),
  ...['networks.*.external', 'networks.*.internal', 'networks.*.attachable', 'volumes.*.external', 'secrets.*.external', 'configs.*.external']
    .map((p): [string[], Cast] => [p.split('.'), toBool]),
];

function castFor(path: DocPath): Cast | undefined {
  const matches = (pattern: string[]): boolean => pattern.length === path.length && pattern.every((part, i) => {
    const seg = path[i];
    return part === '[]' ? typeof seg === 'number' : typeof seg === 'string' && (part === '*' || part === seg);
  });
  return CASTS.find(([pattern]) => matches(pattern))?.[1];
}

/** Interpolates the whole document; unset variables become '' with one warning each. */
export function interpolateDocument(doc: Record<string, unknown>, ctx: LoadContext): Record<string, unknown> {
  const warned = new Set<string>();
  const lookup: Lookup = (name) => (Object.hasOwn(ctx.env, name) ? ctx.env[name] : undefined);
  const walk = (value: unknown, path: DocPath): unknown => {
    if (typeof value === 'string') return interpolateString(value, path);
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    return value;
  };
  const interpolateString = (value: string, path: DocPath): unknown => {
    try {
      const result = substitute(value, lookup, (name) => {
        if (warned.has(name)) return;
        warned.add(name);
        ctx.warnings.push(`${path.join('.')}: the "${name}" variable is not set. Defaulting to a blank string.`);
      });
      if (result === value) return value;
      const cast = castFor(path);
      return cast === undefined ? result : cast(result);
    } catch (err) {
      if (err instanceof TemplateError) throw composeError(ctx, path, err.message);
      throw err;
    }
  };
  return walk(doc, []) as Record<string, unknown>;
}
