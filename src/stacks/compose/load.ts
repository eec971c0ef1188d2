// Loading a Compose file: YAML → interpolated → validated against the Compose
// Specification → normalized the way docker stack deploy reads it (SPEC W4).
import { type Document, LineCounter, type ScalarTag, isCollection, isNode, parseDocument } from 'yaml';
import { ComposeError, type ComposeFile, type LoadedStack, type StackInput } from '../types.ts';
import { type DocPath, type LoadContext, type Locate, isMapping } from './context.ts';
import { interpolateDocument } from './interpolate.ts';
import { normalizeProject } from './normalize.ts';
import { validateDocument } from './validate.ts';

// docker/cli reads YAML with Go's yaml.v3, which takes `0440` as octal (ParseInt base 0);
// YAML 1.2's core schema would read 440. Secret and config modes are written that way.
const goOctal: ScalarTag = {
  tag: 'tag:yaml.org,2002:int',
  default: true,
  format: 'OCT',
  test: /^[-+]?0[0-7]+$/,
  resolve: (text) => (text.startsWith('-') ? -1 : 1) * parseInt(text.replace(/^[-+]/, ''), 8),
};

/** Parses, interpolates with `input.env` only, validates and normalizes; throws ComposeError (a 400) on what cannot be deployed. */
export function loadCompose(input: StackInput): LoadedStack {
  const { doc, locate } = parseYaml(input.compose);
  const ctx: LoadContext = { env: input.env ?? {}, files: input.files ?? {}, warnings: [], locate };
  const raw = toPlainValue(doc, locate);
  if (!isMapping(raw)) throw new ComposeError('the top level must be a mapping (of services, networks, volumes …)', '', locate([]));
  const project = interpolateDocument(raw, ctx);
  validateDocument(project, ctx);
  const dataFiles = normalizeProject(project, ctx);
  return { project: project as ComposeFile, warnings: ctx.warnings, files: { ...ctx.files, ...dataFiles } };
}

function parseYaml(text: string): { doc: Document; locate: Locate } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    merge: true,
    prettyErrors: false,
    customTags: (tags) => [goOctal, ...tags],
  });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    throw new ComposeError(`line ${pos.line}, column ${pos.col}: ${message}`, '', { line: pos.line, column: pos.col });
  }
  return { doc, locate: locator(doc, lineCounter) };
}

/**
 * Where a path's value sits in the text. A value that came through a merge key or an
 * alias has no node of its own on that path: the nearest ancestor that has one is used.
 */
function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path: DocPath) => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : isCollection(doc.contents) ? doc.getIn(path.slice(0, n), true) : undefined;
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return {};
  };
}

function toPlainValue(doc: Document, locate: Locate): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    // e.g. aliases expanding past the limit the yaml package sets against "billion laughs" documents.
    throw new ComposeError(`cannot be read: ${(err as Error).message}`, '', locate([]));
  }
}
