// Quoting argv for `sh -c`, for commands run through health/run-command.ts
// (which kills the whole tree at a timeout).

export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
