// A group's virtual IP (policy keys vip = ADDRESS/PREFIX, vip.dev = IFACE):
// held by the node that owns and runs the group, on that node's interface.
// Before taking it the node probes for another holder (ARP duplicate address
// detection, `arping -D`): while someone answers, it does not add the
// address (a dead node's address is gone with its NIC; a live one that lost
// its lease has removed it when it fenced its groups). Once added it is
// announced with gratuitous ARP (`arping -U`), so neighbours move to this
// node's MAC at once. Needs CAP_NET_ADMIN and CAP_NET_RAW (root) and
// iputils' arping.
import { diag } from '../diag.js';

export interface Vip { address: string; prefix: number; dev: string }

export const vipText = (v: Vip) => `${v.address}/${v.prefix} on ${v.dev}`;

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const { execa } = await import('execa');
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, timeout: 10_000 });
  return { code: r.exitCode ?? -1, output: String(r.all ?? '').trim() };
}

/** Null when no other host answers for the address on the link, else what answered. */
async function otherHolder(v: Vip): Promise<string | null> {
  const r = await run(['arping', '-D', '-c', '2', '-w', '2', '-I', v.dev, v.address]);
  if (r.code === 0) return null;
  if (r.code === 1) return /\[([0-9A-Fa-f:]{17})\]/.exec(r.output)?.[1] ?? 'a host';
  throw new Error(`arping -D ${v.address} on ${v.dev}: ${r.output || `exit ${r.code}`}`);
}

/** What this node does with the virtual IPs of its groups: take them when it should hold them, drop them when not. */
export class VipKeeper {
  /** Group -> the address this node added (and must remove). */
  private readonly held = new Map<string, Vip>();
  /** Group -> why its address is not held although it should be (a second holder, a failed command). */
  readonly problems = new Map<string, string>();
  /** The pass under way, if any. */
  private pass: Promise<void> | null = null;

  holds(group: string): boolean {
    return this.held.has(group);
  }

  /** Brings the held set to want (group -> its VIP); a call during a pass does nothing (the timer calls again). */
  reconcile(want: Map<string, Vip>): Promise<void> {
    if (this.pass) return this.pass;
    this.pass = this.once(want).finally(() => (this.pass = null));
    return this.pass;
  }

  private async once(want: Map<string, Vip>): Promise<void> {
    for (const [group, v] of [...this.held]) {
      const w = want.get(group);
      if (!w || vipText(w) !== vipText(v)) await this.drop(group, v);
    }
    for (const [group, v] of want) {
      if (!this.held.has(group)) await this.take(group, v);
    }
    for (const group of [...this.problems.keys()]) if (!want.has(group)) this.problems.delete(group);
  }

  private async take(group: string, v: Vip): Promise<void> {
    try {
      const other = await otherHolder(v);
      if (other) {
        if (this.problems.get(group)?.startsWith('held by') !== true) diag(`cluster: ${group}: not taking ${vipText(v)}: ${other} answers for it (duplicate address detection); trying again`);
        this.problems.set(group, `held by ${other}: not taken while it answers`);
        return;
      }
      await this.add(group, v);
    } catch (err) {
      this.problems.set(group, (err as Error).message);
      diag(`cluster: ${group}: taking ${vipText(v)}: ${(err as Error).message}`);
    }
  }

  /**
   * A planned move: the node that held the address has just removed it, so
   * it is taken at once, without duplicate detection (which waits seconds
   * for an answer that cannot come); throws if it cannot be added.
   */
  async adopt(group: string, v: Vip): Promise<void> {
    if (this.pass) await this.pass;
    this.problems.delete(group);
    // The first gratuitous ARP leaves at once; the program need not wait for the second, a second later.
    void this.add(group, v).catch((err: Error) => {
      this.problems.set(group, err.message);
      diag(`cluster: ${group}: taking ${vipText(v)}: ${err.message}`);
    });
    await this.added(group);
  }

  /** Resolves once the address of group is on the interface (add() sets held right after `ip addr add`). */
  private async added(group: string): Promise<void> {
    for (let i = 0; i < 500 && !this.held.has(group) && !this.problems.has(group); i++) await new Promise((r) => setTimeout(r, 2));
    const why = this.problems.get(group);
    if (why) throw new Error(why);
  }

  /** A planned move away: the address goes now, before the target takes it. */
  async release(group: string): Promise<void> {
    if (this.pass) await this.pass;
    const v = this.held.get(group);
    if (v) await this.drop(group, v);
  }

  /** ip addr add, then two gratuitous ARPs (a second apart). */
  private async add(group: string, v: Vip): Promise<void> {
    const add = await run(['ip', 'addr', 'add', `${v.address}/${v.prefix}`, 'dev', v.dev]);
    if (add.code !== 0 && !/File exists/.test(add.output)) throw new Error(`ip addr add: ${add.output}`);
    this.held.set(group, v);
    this.problems.delete(group);
    const ann = await run(['arping', '-U', '-c', '2', '-I', v.dev, v.address]);
    diag(`cluster: ${group}: took ${vipText(v)}${ann.code === 0 ? ', announced' : `; gratuitous ARP failed: ${ann.output}`}`);
  }

  private async drop(group: string, v: Vip): Promise<void> {
    const r = await run(['ip', 'addr', 'del', `${v.address}/${v.prefix}`, 'dev', v.dev]);
    if (r.code !== 0 && !/Cannot assign|not found/i.test(r.output)) {
      diag(`cluster: ${group}: removing ${vipText(v)}: ${r.output}`);
      return;
    }
    this.held.delete(group);
    diag(`cluster: ${group}: released ${vipText(v)}`);
  }

  /** Drops every address (demotion, shutdown), after the pass under way (which may be adding one). */
  async dropAll(): Promise<void> {
    if (this.pass) await this.pass;
    await this.reconcile(new Map());
  }
}
