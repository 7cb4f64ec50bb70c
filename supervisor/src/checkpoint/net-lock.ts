// The network lock of a move (durun migrate): from the moment a group's
// processes are parked until their connections are rebuilt by the restore,
// no packet of those connections may reach either end. A frozen socket that
// received a byte after its queues were read would lose it, and a packet
// arriving between the old socket's silent close and the new socket's
// creation would be answered with a reset. One nftables table per program
// drops both directions of each established connection (matched on its
// addresses and ports, so nothing else on the node is touched); the
// program's durun-restore deletes its table once its sockets exist, before
// the program runs (native/src/restore-tcp.c), and release() deletes
// whatever is left, on success and on failure.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { diag } from '../diag.js';

/** One established TCP connection of a process, as the kernel lists it. */
export interface LiveConnection {
  pid: number; fd: number; program: number;
  family: 4 | 6; local: string; localPort: number; remote: string; remotePort: number;
}

const NFT_PLACES = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft', '/bin/nft'];
const TCP_ESTABLISHED = '01';

/** nft from Debian's nftables package, or null. */
export function nftPath(): string | null {
  for (const p of NFT_PLACES) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not there: try the next place
    }
  }
  return null;
}

/** "0100007F" (little-endian 32-bit words, as /proc/net/tcp prints them) to an address. */
function procAddress(hex: string): { family: 4 | 6; address: string } {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return { family: 4, address: bytes.join('.') };
  // An IPv4-mapped address on a v6 socket travels as IPv4.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return { family: 4, address: bytes.slice(12).join('.') };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return { family: 6, address: groups.join(':') };
}

/** Established connections of the network namespace pid lives in, by socket inode. */
function establishedByInode(pid: number): Map<number, Omit<LiveConnection, 'pid' | 'fd' | 'program'>> {
  const out = new Map<number, Omit<LiveConnection, 'pid' | 'fd' | 'program'>>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel, or the process is gone
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_ESTABLISHED) continue;
      const [lAddr, lPort] = f[1]!.split(':');
      const [rAddr, rPort] = f[2]!.split(':');
      const l = procAddress(lAddr!);
      const r = procAddress(rAddr!);
      out.set(Number(f[9]), { family: l.family, local: l.address, localPort: parseInt(lPort!, 16), remote: r.address, remotePort: parseInt(rPort!, 16) });
    }
  }
  return out;
}

/** The established TCP connections held by these processes (pid -> program id). */
export function liveConnections(procs: Array<{ pid: number; program: number }>): LiveConnection[] {
  const out: LiveConnection[] = [];
  const seen = new Set<number>();
  let table: Map<number, Omit<LiveConnection, 'pid' | 'fd' | 'program'>> | null = null;
  for (const { pid, program } of procs) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // ended meanwhile
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      table ??= establishedByInode(pid);
      const ino = Number(m[1]);
      const c = table.get(ino);
      // A connection shared by several processes (fork) is one connection.
      if (c && !seen.has(ino)) {
        seen.add(ino);
        out.push({ pid, fd: Number(fd), program, ...c });
      }
    }
  }
  return out;
}

function rule(c: LiveConnection, dir: 'in' | 'out'): string {
  const ip = c.family === 4 ? 'ip' : 'ip6';
  const [src, sport, dst, dport] = dir === 'in' ? [c.remote, c.remotePort, c.local, c.localPort] : [c.local, c.localPort, c.remote, c.remotePort];
  return `${ip} saddr ${src} tcp sport ${sport} ${ip} daddr ${dst} tcp dport ${dport} drop`;
}

/** The nftables table that freezes these connections (both hooks: on loopback each packet passes output then input). */
function ruleset(table: string, conns: LiveConnection[]): string {
  const chain = (name: string, hook: string, dir: 'in' | 'out') =>
    `  chain ${name} {\n    type filter hook ${hook} priority -300; policy accept;\n${conns.map((c) => `    ${rule(c, dir)}\n`).join('')}  }\n`;
  return `table inet ${table} {\n${chain('inbound', 'input', 'in')}${chain('outbound', 'output', 'out')}}\n`;
}

/** Table names of this durun home: a supervisor can tell its own leftovers from another's. */
export function lockPrefix(home: string): string {
  return `durun_move_${createHash('sha256').update(home).digest('hex').slice(0, 8)}_`;
}

type NftRun = Promise<{ ok: boolean; text: string }>;

async function nftStarted(args: string[]): Promise<{ input: (text: string) => void; done: NftRun }> {
  const { execa } = await import('execa');
  const child = execa(nftPath() ?? 'nft', args, { reject: false, all: true, stdin: 'pipe' });
  const done: NftRun = child.then((r) => ({ ok: r.exitCode === 0, text: (r.all ?? '').trim() }));
  return { input: (text) => child.stdin!.end(text), done };
}

async function nft(args: string[]): NftRun {
  const run = await nftStarted(args);
  run.input('');
  return run.done;
}

export class NetLock {
  private readonly tables = new Map<number, string>();
  private loader: { input: (text: string) => void; done: NftRun } | null = null;

  /** prefix: lockPrefix(home); seq tells this move's tables from another's. */
  constructor(private readonly prefix: string, seq: number, private readonly conns: LiveConnection[]) {
    for (const c of conns) if (!this.tables.has(c.program)) this.tables.set(c.program, `${prefix}${seq}_${c.program}`);
  }

  /** The table durun-restore of this program lifts, or null when it has no connection. */
  tableOf(program: number): string | null {
    return this.tables.get(program) ?? null;
  }

  /** Starts nft, waiting for its ruleset, before the barrier: at engage() only the rules are left to load. */
  async prepare(): Promise<void> {
    if (this.tables.size) this.loader = await nftStarted(['-f', '-']);
  }

  /** Drops every packet of the connections: every program's table, in one nft transaction. */
  async engage(): Promise<void> {
    if (this.tables.size === 0) return;
    const run = this.loader ?? (await nftStarted(['-f', '-']));
    this.loader = null;
    run.input([...this.tables].map(([program, table]) => ruleset(table, this.conns.filter((c) => c.program === program))).join(''));
    const r = await run.done;
    if (!r.ok) throw new Error(`cannot freeze the TCP connections (nft): ${r.text}`);
  }

  /** Deletes what is left of this move's tables (durun-restore deleted those of restored programs). */
  async release(): Promise<void> {
    // a prepared nft that was never given its rules ends with nothing loaded
    this.loader?.input('');
    this.loader = null;
    if (this.tables.size === 0) return;
    const present = await existingTables(this.prefix);
    for (const table of this.tables.values()) {
      if (!present.includes(table)) continue;
      const r = await nft(['delete', 'table', 'inet', table]);
      if (!r.ok) diag(`could not lift the network lock ${table}: ${r.text}; delete it with: nft delete table inet ${table}`);
    }
  }
}

async function existingTables(prefix: string): Promise<string[]> {
  const r = await nft(['list', 'tables', 'inet']);
  if (!r.ok) return [];
  return r.text.split('\n').map((l) => l.trim().split(/\s+/)[2] ?? '').filter((t) => t.startsWith(prefix));
}

/**
 * Lifts locks a supervisor of this home left behind when it died in the
 * middle of a move (its programs were let go when their links closed):
 * without this their connections would stay black-holed.
 */
export async function liftLeftoverLocks(home: string): Promise<void> {
  if (process.getuid?.() !== 0 || !nftPath()) return;
  for (const table of await existingTables(lockPrefix(home))) {
    const r = await nft(['delete', 'table', 'inet', table]);
    diag(r.ok ? `lifted the network lock ${table} of an interrupted move` : `could not lift the leftover network lock ${table}: ${r.text}`);
  }
}
