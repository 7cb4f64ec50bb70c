// First pass over a policy file: finds [group] sections and KEY = VALUE lines
// with their line numbers (the ini package gives values, not positions), and
// decodes each value with ini so quoting and comments follow ini's rules.
import ini from 'ini';
import { PolicyError, msg } from './errors.js';

export interface Entry { key: string; value: string; line: number }
export interface Section { name: string; line: number; entries: Entry[] }

/** Sections of one file; structural errors (stray keys, duplicates, bad lines) go to errors. */
export function scan(file: string, text: string, errors: PolicyError[]): Section[] {
  const sections: Section[] = [];
  let current: Section | null = null;
  let seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    const header = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(trimmed);
    if (header) {
      current = { name: header[1]!.trim(), line, entries: [] };
      sections.push(current);
      seen = new Map();
      return;
    }
    if (!trimmed.includes('=')) return void errors.push(new PolicyError(file, line, msg.noEquals(trimmed)));
    const key = trimmed.slice(0, trimmed.indexOf('=')).trim();
    if (!current) return void errors.push(new PolicyError(file, line, msg.noSection(key)));
    if (key.endsWith('[]')) return void errors.push(new PolicyError(file, line, msg.listSyntax(key)));
    const first = seen.get(key);
    if (first !== undefined) return void errors.push(new PolicyError(file, line, msg.duplicateKey(key, first)));
    seen.set(key, line);
    const decoded = ini.parse(trimmed)[key] as unknown;
    // ini reads the word null as null (and then nests a dotted key): it is a value (state.destination = null), not an empty one.
    const text = trimmed.slice(trimmed.indexOf('=') + 1).replace(/\s[;#].*$/, '').trim();
    const value = decoded === undefined || decoded === null ? (/^("?)null\1$/.test(text) ? 'null' : '') : String(decoded).trim();
    (current as Section).entries.push({ key, value, line });
  });
  return sections;
}
