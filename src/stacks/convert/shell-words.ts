// Splits a command string into words as github.com/google/shlex does (the CLI's
// loader splits string `command`/`entrypoint` with it): whitespace separates words,
// '…' quotes literally, "…" quotes with backslash escapes, \ escapes outside
// quotes, and # at the start of a word comments out the rest of the line.
import { fail } from './values.ts';

const SPACE = new Set([' ', '\t', '\r', '\n']);

type State = 'start' | 'word' | 'escape' | 'single' | 'double' | 'doubleEscape' | 'comment';

export function splitShellWords(text: string, path: string): string[] {
  const words: string[] = [];
  let state: State = 'start';
  let word = '';
  const end = () => {
    words.push(word);
    word = '';
    state = 'start';
  };
  for (const ch of text) {
    switch (state) {
      case 'start':
        if (SPACE.has(ch)) break;
        if (ch === '#') state = 'comment';
        else if (ch === "'") state = 'single';
        else if (ch === '"') state = 'double';
        else if (ch === '\\') state = 'escape';
        else [word, state] = [ch, 'word'];
        break;
      case 'word':
        if (SPACE.has(ch)) end();
        else if (ch === "'") state = 'single';
        else if (ch === '"') state = 'double';
        else if (ch === '\\') state = 'escape';
        else word += ch;
        break;
      case 'escape':
        [word, state] = [word + ch, 'word'];
        break;
      case 'single':
        if (ch === "'") state = 'word';
        else word += ch;
        break;
      case 'double':
        if (ch === '"') state = 'word';
        else if (ch === '\\') state = 'doubleEscape';
        else word += ch;
        break;
      case 'doubleEscape':
        [word, state] = [word + ch, 'double'];
        break;
      case 'comment':
        if (ch === '\n') state = 'start';
        break;
    }
  }
  if (state === 'escape' || state === 'doubleEscape') fail(path, 'EOF found after escape character');
  if (state === 'single' || state === 'double') fail(path, 'EOF found when expecting closing quote');
  if (state === 'word') words.push(word);
  return words;
}

/** `command` / `entrypoint`: a string is split like the CLI; a list is taken as is. */
export function optionalCommand(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return splitShellWords(value, path);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : String(v)));
  return fail(path, 'must be a string or a list of strings');
}
