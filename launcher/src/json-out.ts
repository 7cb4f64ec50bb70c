// The one shape of every `--json` answer of the CLI: a single JSON document
// whose first field is `version` (the version of that document's schema,
// docs/schemas/), so a script can tell a format it knows from a newer one.
// Streams (`events --follow --json`) print one such document per line.

/** Bumped when a field changes meaning or goes away; new fields do not bump it. */
export const JSON_VERSION = 1;

export function jsonDoc(body: object): string {
  return JSON.stringify({ version: JSON_VERSION, ...body });
}
