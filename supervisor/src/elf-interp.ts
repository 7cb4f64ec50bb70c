// Whether an executable can load the interceptor, read from the file an
// `exec` names: a static ELF (no PT_INTERP) never runs the dynamic loader,
// and a set-id binary of another user runs it in secure mode, which ignores
// LD_PRELOAD. Answers are cached by file identity (an exec loop names the
// same few files again and again).
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const PT_INTERP = 3;
const cache = new Map<string, boolean>();

/** False when path surely cannot load libdurun.so; true when it can or cannot be told (a relative path, a script, unreadable). */
export function loadsInterceptor(path: string): boolean {
  if (!path.startsWith('/')) return true;
  let st;
  try {
    st = statSync(path);
  } catch {
    return true;
  }
  const key = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.mode}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const setId = (st.mode & 0o6000) !== 0 && st.uid !== process.getuid!();
  const answer = !setId && hasInterp(path);
  if (cache.size > 256) cache.clear();
  cache.set(key, answer);
  return answer;
}

/** A 64-bit little-endian ELF without PT_INTERP is static; anything else is taken as dynamic. */
function hasInterp(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return true;
  }
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return true;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    if (phentsize < 4 || phnum === 0 || phnum > 256) return true;
    const ph = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, ph, 0, ph.length, phoff) < ph.length) return true;
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === PT_INTERP) return true;
    return false;
  } finally {
    closeSync(fd);
  }
}
