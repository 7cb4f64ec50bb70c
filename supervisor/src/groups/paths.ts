// Where the durun executable is, from the supervisor's compiled location
// (dist/supervisor/src/groups/ → repository root).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const DURUN_BIN = path.join(ROOT, 'build', 'durun');
