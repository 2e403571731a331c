import { DEFAULT_REDIRECT, type Config } from '../../config/load.js';
import { addrOf, formatAddr, isValidPort, type SocksAddr } from '../../core/addr.js';
import { errorCode } from '../../core/errors.js';
import { dnsListenOf } from '../../firewall/from-config.js';
import type { DaemonEndpoints, StatusSnapshot } from '../../observe/control.js';
import { controlPath } from '../observe-options.js';
import { readSnapshot } from '../status.js';
import { tcpListening } from './listening.js';

/** The daemon exec diverts its command to. */
export interface ExecTarget extends DaemonEndpoints {
  /** Where these came from, for messages: "the daemon (pid 42) on /run/socksgate/control.sock". */
  readonly source: string;
}

/** exec cannot tell where the daemon is; the message says what to pass. */
export class ExecTargetError extends Error {}

export interface TargetArgs {
  readonly config?: string;
  readonly redirect?: readonly string[];
  readonly tproxy?: readonly string[];
  readonly control?: string;
}

const TELL_EXEC = '--redirect ADDR:PORT (the daemon\'s redirect listener) or -c FILE (its config file)';

/**
 * Listeners given to exec (-c, --redirect, --tproxy) are taken as they are. Otherwise the running
 * daemon tells them on its control socket; with no daemon there, the default redirect listener
 * is used if something listens on it.
 */
export async function findExecTarget(config: Config, args: TargetArgs, listening = tcpListening, read = readSnapshot): Promise<ExecTarget> {
  if (args.config !== undefined || args.redirect?.length || args.tproxy?.length) {
    return fromConfig(config, args.config !== undefined ? `config ${args.config}` : 'the listeners given');
  }
  const file = controlPath(args.control);
  let unanswered = 'the control socket is off (--control off)';
  if (file !== undefined) {
    try {
      return reachable(fromSnapshot(await read(file), file), listening);
    } catch (err) {
      if (err instanceof ExecTargetError) throw err;
      unanswered = `no socksgate daemon answered on ${file} (${errorCode(err)})`;
    }
  }
  const fallback = fromConfig(config, `the default redirect listener ${DEFAULT_REDIRECT}`);
  if (fallback.redirect.some((at) => listening(at))) return fallback;
  throw new ExecTargetError(
    `${unanswered} and nothing listens on ${DEFAULT_REDIRECT}: start \`socksgate run\` first, or tell exec where it runs: --control PATH (its control socket), ${TELL_EXEC}`,
  );
}

function fromConfig(config: Config, source: string): ExecTarget {
  const dns = dnsListenOf(config);
  return {
    redirect: config.redirect,
    tproxy: config.tproxy,
    ...(dns ? { dns } : {}),
    mark: config.mark,
    upstreams: config.upstreams.map((u) => u.server),
    source,
  };
}

/** The snapshot's endpoints, checked field by field: they come from another process. */
function fromSnapshot(snapshot: StatusSnapshot, file: string): ExecTarget {
  const source = `the daemon (pid ${snapshot.pid}) on ${file}`;
  const endpoints = snapshot.endpoints as Partial<Record<string, unknown>> | undefined;
  const list = (value: unknown) => (Array.isArray(value) ? value.map(address) : undefined);
  const redirect = list(endpoints?.redirect);
  const tproxy = list(endpoints?.tproxy);
  const upstreams = list(endpoints?.upstreams);
  const dnsGiven = endpoints?.dns !== undefined;
  const dns = dnsGiven ? address(endpoints?.dns) : undefined;
  const mark = endpoints?.mark;
  const lists = [redirect, tproxy, upstreams];
  if (lists.some((l) => !l || l.includes(undefined)) || (dnsGiven && !dns) || typeof mark !== 'number') {
    throw new ExecTargetError(`${source} does not tell where it listens (an older socksgate?): pass ${TELL_EXEC}`);
  }
  return {
    redirect: redirect as SocksAddr[],
    tproxy: tproxy as SocksAddr[],
    ...(dns ? { dns } : {}),
    mark: mark as number,
    upstreams: upstreams as SocksAddr[],
    source,
  };
}

/** A {host, port} from JSON, or undefined. */
function address(value: unknown): SocksAddr | undefined {
  const { host, port } = (value ?? {}) as { host?: unknown; port?: unknown };
  return typeof host === 'string' && typeof port === 'number' && isValidPort(port) ? addrOf(host, port) : undefined;
}

/** A daemon whose listeners are not in this network namespace cannot take exec's REDIRECT. */
function reachable(target: ExecTarget, listening: typeof tcpListening): ExecTarget {
  if (target.redirect.some((at) => listening(at))) return target;
  const listeners = [...target.redirect.map((at) => `redirect ${formatAddr(at)}`), ...target.tproxy.map((at) => `tproxy ${formatAddr(at)}`)];
  const has = listeners.length ? `listens on ${listeners.join(', ')}` : 'has no listener';
  const advice = target.redirect.length
    ? `is it in another network namespace? Pass --control PATH of the daemon here, or ${TELL_EXEC}`
    : `exec diverts with REDIRECT: start the daemon with --redirect ${DEFAULT_REDIRECT} too`;
  throw new ExecTargetError(`${target.source} ${has}, but no redirect listener of it listens here: ${advice}`);
}
