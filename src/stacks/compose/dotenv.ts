// env_file contents: one KEY=VALUE a line, as docker/cli's kvfile reads them, plus
// the dotenv quoting docker compose understands (`KEY="a b"`, `KEY='$literal'`).

export class EnvFileError extends Error {}

/**
 * Variables of an env file in order. `KEY` alone takes its value from `lookup`
 * and is left out when that has none (kvfile does the same).
 */
export function parseEnvFile(text: string, lookup: (name: string) => string | undefined): [string, string][] {
  const vars: [string, string][] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    // Leading whitespace goes; trailing whitespace of an unquoted value is part of it.
    const line = raw.replace(/^\s+/, '').replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key === '') throw new EnvFileError(`line ${index + 1}: no variable name`);
    if (/\s/.test(key)) throw new EnvFileError(`line ${index + 1}: variable "${key}" contains whitespace`);
    if (eq === -1) {
      const value = lookup(key);
      if (value !== undefined) vars.push([key, value]);
      return;
    }
    vars.push([key, unquote(line.slice(eq + 1), index + 1)]);
  });
  return vars;
}

function unquote(value: string, line: number): string {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return value;
  const close = findClosingQuote(value, quote);
  if (close === -1) throw new EnvFileError(`line ${line}: the value's opening ${quote} has no closing ${quote}`);
  const rest = value.slice(close + 1).trim();
  if (rest !== '' && !rest.startsWith('#')) throw new EnvFileError(`line ${line}: unexpected "${rest}" after the quoted value`);
  const inner = value.slice(1, close);
  return quote === "'" ? inner : inner.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}

function findClosingQuote(value: string, quote: string): number {
  for (let i = 1; i < value.length; i++) {
    if (quote === '"' && value[i] === '\\') i++;
    else if (value[i] === quote) return i;
  }
  return -1;
}
