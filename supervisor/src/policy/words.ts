// Splits a command line from a policy value into argv the way a shell would
// split words (quotes and backslashes), without any expansion: a policy
// command is exec'd directly; write `sh -c '...'` to get a shell.

/** argv for the text, or an error saying what is wrong with the quoting. */
export function splitWords(text: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += c;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (word !== null) argv.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') {
      if (i + 1 >= text.length) return { error: 'ends with a lone backslash' };
      word += text[++i];
    } else word += c;
  }
  if (quote) return { error: `has an unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  if (word !== null) argv.push(word);
  if (argv.length === 0) return { error: 'is empty' };
  return { argv };
}
