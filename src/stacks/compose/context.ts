// What the load steps share: the path of a value in the document, a way to find
// its line and column in the YAML text, and the ComposeError built from both.
import { ComposeError } from '../types.ts';

/** Keys and list indexes from the document's root to a value. */
export type DocPath = readonly (string | number)[];

/** Line and column (1-based) of the value at a path, when the YAML text still has it. */
export type Locate = (path: DocPath) => { line?: number; column?: number };

export interface LoadContext {
  env: Readonly<Record<string, string>>;
  files: Readonly<Record<string, string>>;
  warnings: string[];
  locate: Locate;
}

/** `services.web.ports.0.published`: the form ComposeError's `field` carries. */
export function dotted(path: DocPath): string {
  return path.join('.');
}

/** A ComposeError whose message starts with the dotted path (when there is one); `at` is where to point in the text. */
export function composeError(ctx: Pick<LoadContext, 'locate'>, path: DocPath, message: string, at: DocPath = path): ComposeError {
  const field = dotted(path);
  return new ComposeError(field === '' ? message : `${field}: ${message}`, field, ctx.locate(at));
}

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
