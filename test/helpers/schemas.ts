// Validates the CLI's --json documents against the JSON Schemas published in
// docs/schemas/ (ajv, draft 2020-12, with date-time formats checked).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './paths.js';

const require = createRequire(import.meta.url);
// ajv and ajv-formats are CommonJS: loaded through require so their default exports need no interop.
const Ajv2020 = require('ajv/dist/2020').default as new (o: object) => { compile(s: object): Validator };
const addFormats = require('ajv-formats').default as (ajv: unknown) => void;

interface Validator { (data: unknown): boolean; errors?: Array<{ instancePath: string; message?: string }> | null }

export const SCHEMA_DIR = path.join(ROOT, 'docs', 'schemas');

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
const validators = new Map<string, Validator>();
for (const f of readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json'))) {
  validators.set(f.replace('.schema.json', ''), ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, f), 'utf8')) as object));
}

/** Parses one --json document and throws, naming every violation, unless it fits docs/schemas/NAME.schema.json. */
export function validJson(name: string, text: string): Record<string, unknown> {
  const v = validators.get(name);
  if (!v) throw new Error(`no schema docs/schemas/${name}.schema.json`);
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (!v(doc)) throw new Error(`${name}: output does not fit its schema: ${v.errors!.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}\n${text.slice(0, 2000)}`);
  return doc;
}

export function schemaNames(): string[] {
  return [...validators.keys()];
}
