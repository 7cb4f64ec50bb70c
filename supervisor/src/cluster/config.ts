// Cluster mode's configuration: the [cluster] section of
// $DURUN_HOME/cluster.ini (or the file DURUN_CLUSTER_CONFIG names). No such
// file: single-node mode, no etcd. Every bad value is reported as file:line.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { scan } from '../policy/scan.js';
import { PolicyError, formatErrors } from '../policy/errors.js';
import { parseDuration } from '../protocol/duration.js';
import { GROUP_NAME, hostPort } from '../policy/values.js';

export interface ClusterConfig {
  file: string;
  /** Key prefix in etcd: /durun/NAME/. */
  name: string;
  /** This node's name, unique in the cluster. */
  node: string;
  endpoints: string[];
  /** Lease TTL (whole seconds, etcd's unit). */
  leaseSeconds: number;
  /** Shared secret of the supervisors: the TLS pre-shared key of the replication stream. */
  secret: Buffer;
  /** Where this node accepts checkpoint streams from other supervisors. */
  listen: { host: string; port: number };
  /** Where other nodes reach it (default: listen). */
  advertise: { host: string; port: number };
  /** TLS towards etcd, when its endpoints are https. */
  etcdTls: { ca: Buffer; cert?: Buffer; key?: Buffer } | null;
  etcdAuth: { username: string; password: string } | null;
}

export class ClusterConfigError extends Error {}

/** The shared policy as this node last applied it (in DURUN_HOME), so placement is known before the node joins again. */
export const SHARED_POLICY_FILE = 'cluster-policy.json';

const KEYS = ['name', 'node', 'endpoints', 'lease', 'secret_file', 'listen', 'advertise', 'etcd_ca', 'etcd_cert', 'etcd_key', 'etcd_user', 'etcd_password_file'] as const;

export function clusterConfigFile(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.DURUN_CLUSTER_CONFIG ? path.resolve(env.DURUN_CLUSTER_CONFIG) : path.join(home, 'cluster.ini');
}

/** Reads a secret file, refusing one others may read. */
function secretFile(file: string, what: string): Buffer {
  const st = statSync(file);
  if ((st.mode & 0o077) !== 0) throw new Error(`${what} ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  return readFileSync(file);
}

/** The configuration, or null when the file does not exist (single-node mode). */
export function loadClusterConfig(home: string, env: NodeJS.ProcessEnv = process.env): ClusterConfig | null {
  const file = clusterConfigFile(home, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ClusterConfigError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const errors: PolicyError[] = [];
  const sections = scan(file, text, errors);
  const at = (line: number, message: string) => errors.push(new PolicyError(file, line, message));
  const section = sections.find((s) => s.name === 'cluster');
  for (const s of sections) if (s.name !== 'cluster') at(s.line, `unknown section [${s.name}]; this file has one section, [cluster]`);
  if (!section) {
    if (errors.length === 0) at(1, 'no [cluster] section; write [cluster] with node = NAME and endpoints = http://HOST:PORT');
    throw new ClusterConfigError(formatErrors(errors));
  }
  const val = new Map(section.entries.map((e) => [e.key, e]));
  for (const e of section.entries) {
    if (!(KEYS as readonly string[]).includes(e.key)) at(e.line, `unknown key "${e.key}" in [cluster]; known keys: ${KEYS.join(', ')}`);
  }
  const line = (k: string) => val.get(k)?.line ?? section.line;
  const need = (k: string, hint: string): string => {
    const v = val.get(k)?.value;
    if (!v) at(section.line, `[cluster] needs ${k} (${hint})`);
    return v ?? '';
  };
  const name = val.get('name')?.value || 'default';
  if (!GROUP_NAME.test(name)) at(line('name'), `name: "${name}" is not a cluster name (letters, digits, . _ -)`);
  const node = need('node', 'this node\'s name, unique in the cluster');
  if (node && !GROUP_NAME.test(node)) at(line('node'), `node: "${node}" is not a node name (letters, digits, . _ -, at most 64)`);
  const endpoints = need('endpoints', 'etcd client URLs, comma-separated').split(',').map((s) => s.trim()).filter(Boolean);
  for (const ep of endpoints) if (!/^https?:\/\/[^/\s]+:\d+\/?$/.test(ep)) at(line('endpoints'), `endpoints: "${ep}" is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)`);
  const leaseMs = parseDuration(val.get('lease')?.value ?? '2s');
  let leaseSeconds = 2;
  if (leaseMs === null || leaseMs < 2000 || leaseMs % 1000 !== 0) at(line('lease'), `lease: "${val.get('lease')?.value}" must be whole seconds, at least 2s (etcd's lease floor)`);
  else leaseSeconds = leaseMs / 1000;
  const addr = (k: 'listen' | 'advertise', fallback: string) => {
    const text = val.get(k)?.value || fallback;
    const hp = hostPort(text);
    if (!hp) at(line(k), `${k}: "${text}" is not HOST:PORT`);
    return hp ?? { host: '127.0.0.1', port: 0 };
  };
  const listen = addr('listen', '127.0.0.1:7946');
  const advertise = addr('advertise', `${listen.host}:${listen.port}`);
  const read = (k: string, what: string): Buffer | undefined => {
    const p = val.get(k)?.value;
    if (!p) return undefined;
    try {
      return secretFile(path.resolve(path.dirname(file), p), what);
    } catch (err) {
      at(line(k), `${k}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const secret = read('secret_file', 'the shared secret');
  if (!val.get('secret_file')?.value) at(section.line, '[cluster] needs secret_file (a file of random bytes, mode 0600, the same on every node: head -c 32 /dev/urandom > secret)');
  else if (secret && secret.length < 16) at(line('secret_file'), 'secret_file: the secret must be at least 16 bytes (head -c 32 /dev/urandom)');
  const ca = read('etcd_ca', 'the etcd CA file');
  const etcdTls = ca ? { ca, cert: read('etcd_cert', 'the etcd client certificate'), key: read('etcd_key', 'the etcd client key') } : null;
  if (!ca && endpoints.some((e) => e.startsWith('https:'))) at(line('endpoints'), 'https endpoints need etcd_ca (and etcd_cert, etcd_key for client certificates)');
  const password = read('etcd_password_file', 'the etcd password file');
  const user = val.get('etcd_user')?.value;
  if (Boolean(user) !== Boolean(password)) at(line(user ? 'etcd_user' : 'etcd_password_file'), 'etcd_user and etcd_password_file go together');
  if (errors.length) throw new ClusterConfigError(formatErrors(errors));
  return {
    file, name, node, endpoints, leaseSeconds, secret: secret!, listen, advertise, etcdTls,
    etcdAuth: user && password ? { username: user, password: password.toString('utf8').trim() } : null,
  };
}
