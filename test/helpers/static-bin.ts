// A statically linked test program: it cannot load the interceptor, so it
// exercises durun's /proc-based tracking.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Compiles `static-sleep SECONDS` into dir and returns its path. */
export function buildStaticSleep(dir: string): string {
  const src = path.join(dir, 'static-sleep.c');
  const bin = path.join(dir, 'static-sleep');
  writeFileSync(src, '#include <stdlib.h>\n#include <unistd.h>\nint main(int c, char **v) { sleep(c > 1 ? atoi(v[1]) : 60); return 0; }\n');
  execFileSync('gcc', ['-static', '-O2', '-o', bin, src]);
  return bin;
}
