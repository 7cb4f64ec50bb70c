// Image files as the supervisor checks them: a SHA-256 for the manifest, and
// the engine's own verdict (`durun-ckpt inspect --json`, every record CRC).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const CKPT_TOOL = path.join(ROOT, 'build', 'durun-ckpt');
export const RESTORE_TOOL = path.join(ROOT, 'build', 'durun-restore');

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

export interface ImageHeader { kind: 'full' | 'incremental'; parentPath: string | null; pid: number; ppid: number }

/** Runs `durun-ckpt inspect --json IMAGE`; resolves with the header, rejects naming the image and the first bad record. */
export async function inspectImage(file: string): Promise<ImageHeader> {
  // Loaded on the first checkpoint, not at start: the idle supervisor stays small.
  const { execa } = await import('execa');
  const run = await execa(CKPT_TOOL, ['inspect', file, '--json'], { reject: false, maxBuffer: 64 * 1024 * 1024 });
  let doc: Record<string, unknown> | null = null;
  try {
    doc = JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    doc = null;
  }
  if (run.failed || !doc || doc.ok !== true) {
    const why = (doc && typeof doc.error === 'string' && !doc.ok ? doc.error : run.stderr.trim().split('\n').pop()) || run.shortMessage || 'no output';
    throw new Error(`image ${file} is invalid: ${why}`);
  }
  const h = (doc.header ?? {}) as Record<string, unknown>;
  return {
    kind: String(h.kind).startsWith('incr') ? 'incremental' : 'full',
    parentPath: typeof h.parent === 'string' && h.parent ? h.parent : null,
    pid: Number(h.pid ?? 0),
    ppid: Number(h.ppid ?? 0),
  };
}
