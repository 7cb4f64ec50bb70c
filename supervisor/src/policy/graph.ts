// The dependency graph between groups: unknown dependencies and cycles (found
// before anything starts), and the sets `up GROUP` / `down GROUP` act on.
import { PolicyError, msg } from './errors.js';
import type { GroupPolicy } from './types.js';

/** Errors for dependencies on unknown groups, on oneself, and for every cycle (named a -> b -> a). */
export function checkGraph(groups: readonly GroupPolicy[]): PolicyError[] {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const errors: PolicyError[] = [];
  const dependsAt = (g: GroupPolicy) => new PolicyError(g.file, g.keyLines.depends ?? g.line, '');
  for (const g of groups) {
    for (const dep of g.depends) {
      const where = dependsAt(g);
      if (dep === g.name) errors.push(new PolicyError(where.file, where.line, msg.selfDep(g.name)));
      else if (!byName.has(dep)) errors.push(new PolicyError(where.file, where.line, msg.unknownDep(g.name, dep, [...byName.keys()])));
    }
  }
  if (errors.length) return errors;
  const cycle = findCycle(groups);
  if (cycle) {
    const where = dependsAt(byName.get(cycle[0]!)!);
    errors.push(new PolicyError(where.file, where.line, msg.cycle(cycle)));
  }
  return errors;
}

/** One dependency cycle as [a, b, ..., a], or null. Depth-first, in file order, so the answer is stable. */
export function findCycle(groups: readonly GroupPolicy[]): string[] | null {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'open') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'open');
    stack.push(name);
    for (const dep of byName.get(name)?.depends ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const g of groups) {
    const found = visit(g.name);
    if (found) return found;
  }
  return null;
}

/** The named groups and everything they depend on, transitively (what `up GROUP` starts). */
export function withDependencies(groups: readonly GroupPolicy[], names: Iterable<string>): Set<string> {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const out = new Set<string>();
  const add = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    for (const d of byName.get(n)?.depends ?? []) add(d);
  };
  for (const n of names) add(n);
  return out;
}

/** The named groups and every group that depends on them, transitively (what `down GROUP` stops). */
export function withDependents(groups: readonly GroupPolicy[], names: Iterable<string>): Set<string> {
  const out = new Set<string>(names);
  for (let grew = true; grew;) {
    grew = false;
    for (const g of groups) {
      if (!out.has(g.name) && g.depends.some((d) => out.has(d))) {
        out.add(g.name);
        grew = true;
      }
    }
  }
  return out;
}

/** Dependencies first (a valid start order); stable in file order. */
export function startOrder(groups: readonly GroupPolicy[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < groups.length) {
    const next = groups.filter((g) => !done.has(g.name) && g.depends.every((d) => done.has(d) || !groups.some((x) => x.name === d)));
    if (next.length === 0) throw new Error(`startOrder: cycle among ${groups.filter((g) => !done.has(g.name)).map((g) => g.name).join(', ')}`);
    for (const g of next) {
      done.add(g.name);
      order.push(g.name);
    }
  }
  return order;
}
