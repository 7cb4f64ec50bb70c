// Image files as the supervisor checks them: a SHA-256 for the manifest, and
// the engine's own verdict on the structure (`durun-ckpt inspect --structure`).
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
    // 4 MiB reads: a GiB image is hashed in 256 steps, not 16,384
    createReadStream(file, { highWaterMark: 4 << 20 }).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

export interface ImageHeader { kind: 'full' | 'incremental'; parentPath: string | null; pid: number; ppid: number }

/**
 * Runs `durun-ckpt inspect IMAGE --structure --json`: every record and
 * checksum but those of the page data (a GiB read again just after it was
 * written; the SHA-256 read beside this covers it, and durun-restore checks
 * each page record as it reads it). Resolves with the header, rejects
 * naming the image and the first bad record.
 */
export async function inspectImage(file: string): Promise<ImageHeader> {
  // Loaded on the first checkpoint, not at start: the idle supervisor stays small.
  const { execa } = await import('execa');
  const run = await execa(CKPT_TOOL, ['inspect', file, '--structure', '--json'], { reject: false, maxBuffer: 64 * 1024 * 1024 });
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
