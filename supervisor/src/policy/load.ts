// Policy text in, validated Policy (or every error with file:line) out.
// Pure: it reads no files and starts nothing, so it is tested with strings.
import { PolicyError, msg } from './errors.js';
import { scan, type Section } from './scan.js';
import { buildGroup } from './group.js';
import { checkGraph } from './graph.js';
import { checkPairs } from './pairs.js';
import { GROUP_NAME } from './values.js';
import type { GroupPolicy, Policy, SourceText } from './types.js';
import { parseSupervisorHealth } from '../health/policy-keys.js';
import type { SupervisorHealthConfig } from '../health/config.js';

const SUPERVISOR_KEYS = new Set(['metrics.listen', 'on_event', 'on_event.timeout']);

export type LoadResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

function supervisorSection(file: string, section: Section, errors: PolicyError[]): SupervisorHealthConfig {
  for (const e of section.entries) if (!SUPERVISOR_KEYS.has(e.key)) errors.push(new PolicyError(file, e.line, msg.unknownSupervisorKey(e.key)));
  const r = parseSupervisorHealth(section.entries.filter((e) => SUPERVISOR_KEYS.has(e.key)), file);
  errors.push(...r.errors.map(PolicyError.parse));
  return r.config;
}

export function loadPolicy(sources: readonly SourceText[]): LoadResult {
  const errors: PolicyError[] = [];
  const groups: GroupPolicy[] = [];
  const defined = new Map<string, string>();
  let supervisor = parseSupervisorHealth([], '').config;
  let supervisorAt: string | null = null;
  for (const { file, text } of sources) {
    const fileErrors: PolicyError[] = [];
    for (const section of scan(file, text, fileErrors)) {
      const where = `${file}:${section.line}`;
      if (section.name === 'supervisor') {
        if (supervisorAt) fileErrors.push(new PolicyError(file, section.line, msg.duplicateSupervisor(supervisorAt)));
        else supervisor = supervisorSection(file, section, fileErrors);
        supervisorAt ??= where;
        continue;
      }
      const m = /^group\s+(.*)$/.exec(section.name);
      if (!m) {
        fileErrors.push(new PolicyError(file, section.line, msg.badSectionKind(section.name)));
        continue;
      }
      const name = m[1]!.trim();
      if (!GROUP_NAME.test(name)) {
        fileErrors.push(new PolicyError(file, section.line, msg.badSection(name)));
        continue;
      }
      const first = defined.get(name);
      if (first) {
        fileErrors.push(new PolicyError(file, section.line, msg.duplicateGroup(name, first)));
        continue;
      }
      defined.set(name, where);
      const g = buildGroup(file, section, name, fileErrors);
      if (g) groups.push(g);
    }
    errors.push(...fileErrors.sort((a, b) => a.line - b.line));
  }
  // Dependencies are checked only over a complete set of groups, so one bad section does not cascade.
  if (errors.length === 0) errors.push(...checkGraph(groups), ...checkPairs(groups));
  if (errors.length) return { ok: false, errors };
  return { ok: true, policy: { groups, supervisor, files: sources.map((s) => s.file) } };
}
