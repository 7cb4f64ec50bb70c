// Reads the policy files named by `durun up -f` (files, or directories whose
// *.ini files are read in name order) and validates them as one policy.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadPolicy, type LoadResult } from '../policy/load.js';
import { PolicyError, msg } from '../policy/errors.js';
import type { SourceText } from '../policy/types.js';

/** The files a list of sources stands for, in order. */
export function policyFiles(sources: readonly string[]): { files: string[]; errors: PolicyError[] } {
  const files: string[] = [];
  const errors: PolicyError[] = [];
  for (const src of sources) {
    try {
      if (statSync(src).isDirectory()) {
        const inDir = readdirSync(src).filter((n) => n.endsWith('.ini')).sort().map((n) => path.join(src, n));
        if (inDir.length === 0) errors.push(new PolicyError(src, 0, msg.noFiles()));
        files.push(...inDir);
      } else files.push(src);
    } catch (err) {
      errors.push(new PolicyError(src, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path given to durun up -f`));
    }
  }
  return { files, errors };
}

/** The texts of the policy files a list of sources stands for, or what could not be read. */
export function readSources(sources: readonly string[]): { texts: SourceText[]; errors: PolicyError[] } {
  const { files, errors } = policyFiles(sources);
  const texts: SourceText[] = [];
  for (const file of files) {
    try {
      texts.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      errors.push(new PolicyError(file, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    }
  }
  return { texts, errors };
}

export function readPolicy(sources: readonly string[]): LoadResult {
  const { texts, errors } = readSources(sources);
  if (errors.length) return { ok: false, errors };
  return loadPolicy(texts);
}
