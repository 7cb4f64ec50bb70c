// Colour as blessed tags, or none at all under NO_COLOR (https://no-color.org):
// every pane says what it means with words and marks, colour only repeats it.
import blessed from 'blessed';
import type { GroupState } from '../../../supervisor/src/protocol/views.js';

export type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'info' | 'bold' | 'inverse';

const TAG: Record<Tone, string> = {
  good: 'green-fg', bad: 'red-fg', warn: 'yellow-fg', dim: 'gray-fg', info: 'cyan-fg', bold: 'bold', inverse: 'inverse',
};
/** What survives NO_COLOR: emphasis that is not colour. */
const MONO: Partial<Record<Tone, string>> = { bold: 'bold', inverse: 'inverse', bad: 'bold' };

export interface Painter {
  readonly colour: boolean;
  /** Text escaped for blessed, wrapped in the tone's tag. */
  paint(text: string, tone?: Tone | null): string;
}

export function painter(colour: boolean): Painter {
  return {
    colour,
    paint(text, tone) {
      const tag = tone ? (colour ? TAG[tone] : MONO[tone]) : undefined;
      const safe = blessed.escape(text);
      return tag ? `{${tag}}${safe}{/${tag}}` : safe;
    },
  };
}

/** NO_COLOR set to anything but the empty string turns colour off. */
export function colourWanted(env: NodeJS.ProcessEnv): boolean {
  return !env.NO_COLOR;
}

export const STATE_TONE: Record<GroupState, Tone> = {
  running: 'good', restarting: 'warn', stopped: 'dim', exited: 'dim', failed: 'bad',
};
