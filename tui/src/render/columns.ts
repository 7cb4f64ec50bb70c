// Table columns that shrink by priority: when the pane is narrow the least
// important columns go first, and the one flexible column (a name or a command
// line) takes whatever width is left, cut with an ellipsis.
import type { Painter, Tone } from './paint.js';

export interface Column {
  title: string;
  /** Width of a fixed column; the minimum of the flexible one. */
  width: number;
  /** 0 is never dropped; higher numbers are dropped first. */
  priority: number;
  right?: boolean;
  flex?: boolean;
  /** How wide the flexible column may grow (a name needs less than a command line). */
  max?: number;
}

export interface Cell { text: string; tone?: Tone | null }

/** Cuts or pads text to exactly `width` characters. */
export function fit(text: string, width: number, right = false): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The widths of the columns that fit in `width` (one space between columns); 0 for a dropped one. */
export function layout(columns: Column[], width: number): number[] {
  const kept = new Set(columns.map((_, i) => i));
  const need = () => [...kept].reduce((sum, i) => sum + columns[i]!.width, 0) + kept.size - 1;
  const byDropOrder = columns.map((c, i) => ({ c, i })).filter(({ c }) => c.priority > 0).sort((a, b) => b.c.priority - a.c.priority);
  for (const { i } of byDropOrder) {
    if (need() <= width) break;
    kept.delete(i);
  }
  const spare = Math.max(0, width - need());
  return columns.map((c, i) => (!kept.has(i) ? 0 : c.flex ? Math.min(c.width + spare, c.max ?? Infinity) : c.width));
}

/** One table line from cells (one per column), painted cell by cell. */
export function tableRow(columns: Column[], widths: number[], cells: Cell[], p: Painter): string {
  const parts: string[] = [];
  columns.forEach((c, i) => {
    if (!widths[i]) return;
    const cell = cells[i] ?? { text: '' };
    parts.push(p.paint(fit(cell.text, widths[i]!, c.right), cell.tone));
  });
  return parts.join(' ');
}

export function headerRow(columns: Column[], widths: number[], p: Painter): string {
  return tableRow(columns, widths, columns.map((c) => ({ text: c.title, tone: 'bold' as const })), p);
}
