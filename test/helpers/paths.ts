// Where the built artifacts live, so tests never guess relative paths.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root (tests run from dist/test, two levels below it). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.join(ROOT, 'build');
export const DURUN_BIN = path.join(BUILD, 'durun');
export const LIBDURUN = path.join(BUILD, 'libdurun.so');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
