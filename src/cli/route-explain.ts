import { isIP } from '../core/ip-literal.js';
import type { Argv, CommandModule } from 'yargs';
import type { Decision } from '../adapter/router.js';
import { addrOf, formatAddr, parseHostPort, type SocksAddr } from '../core/addr.js';
import type { InboundKind } from '../core/flow.js';
import type { Config } from '../config/load.js';
import { DOMAIN_NAME, ROUTE_INBOUNDS } from '../config/route-schema.js';
import { inspectRouting } from '../daemon/reload.js';
import type { RouteQuery } from '../route/match/matcher.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from './options.js';

export interface ExplainArgs {
  /** An IP address, `host:port`, `[v6]:port` or a domain name. */
  dest: string;
  port?: number;
  domain?: string;
  udp?: boolean;
  source?: string;
  inbound?: InboundKind;
  /** The user a proxy-inbound client logged in as. */
  user?: string;
}

/** A mistake in the command line itself (not the config): printed with the usage hint, exit 2. */
export class ExplainUsageError extends Error {}

/** The flow to decide, as the daemon would see it; what is not given is unknown (port 0, source 0.0.0.0). */
export function explainQuery(args: ExplainArgs): RouteQuery {
  const { port } = args;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ExplainUsageError(`--port ${port}: expected 0-65535`);
  let dst: SocksAddr;
  try {
    dst = isIP(args.dest) ? addrOf(args.dest, port ?? 0) : parseHostPort(args.dest, port ?? 0);
  } catch (err) {
    throw new ExplainUsageError(`DEST ${(err as Error).message}`);
  }
  if (port !== undefined) dst = { ...dst, port };
  if (dst.kind === 'domain' && !DOMAIN_NAME.test(dst.host)) throw new ExplainUsageError(`DEST "${args.dest}": expected an IP address, a domain name, HOST:PORT or [IPv6]:PORT`);
  if (args.domain !== undefined && !DOMAIN_NAME.test(args.domain)) throw new ExplainUsageError(`--domain "${args.domain}": expected a domain name`);
  if (args.source !== undefined && !isIP(args.source)) throw new ExplainUsageError(`--source "${args.source}": expected an IP address`);
  const network = args.udp ? 'udp' : 'tcp';
  const src = addrOf(args.source ?? (dst.kind === 'ipv6' ? '::' : '0.0.0.0'), 0);
  // UDP reaches the daemon only through TPROXY; a user logs in only at the proxy inbound.
  const inbound = args.inbound ?? (args.user !== undefined ? 'socks' : network === 'udp' ? 'tproxy' : 'redirect');
  if (args.user !== undefined && (args.user === '' || inbound !== 'socks')) throw new ExplainUsageError(`--user "${args.user}": only a client of the socks inbound logs in (a non-empty name, with --inbound socks or none)`);
  return { network, inbound, src, dst, ...(args.domain !== undefined ? { host: args.domain } : {}), ...(args.user !== undefined ? { user: args.user } : {}) };
}

/** What the chosen outbound does with the flow, as the daemon would do it. */
function targetText(decision: Decision, query: RouteQuery, config: Config): string {
  const { outbound } = decision;
  const dst = formatAddr(query.dst);
  if (decision.action === 'reject') return query.network === 'tcp' ? 'reject: the client is reset at once' : 'reject: the datagram is dropped and counted';
  if (decision.action === 'direct') {
    const mark = config.mark === 0 ? 'without a mark (mark: 0)' : `with SO_MARK 0x${config.mark.toString(16)}, so it is not diverted again`;
    return `direct: socksgate connects to ${dst} itself, ${mark}`;
  }
  const upstream = config.upstreams.find((u) => u.name === outbound.name);
  const chain = config.chains.find((c) => c.name === outbound.name);
  const via = upstream ? `${upstream.protocol}://${formatAddr(upstream.server)}` : chain ? `chain ${chain.hops.join(' → ')}` : formatAddr(outbound.server);
  // A known name goes upstream, so the proxy resolves it (fake-IP, sniffed).
  const asked = query.host !== undefined ? formatAddr({ kind: 'domain', host: query.host, port: query.dst.port }) : dst;
  return `upstream ${outbound.name} (${via}), asked for ${asked}`;
}

/** The explanation `route explain` prints: the flow as understood, the rule in its log form, the target. */
export function formatExplanation(query: RouteQuery, decision: Decision, config: Config): string {
  const name = query.host !== undefined ? ` (name ${query.host})` : '';
  const port = query.dst.port === 0 ? ' (no port given)' : '';
  const where = decision.index < 0 ? (config.route.final === undefined ? 'no rule matched; route.final unset: the first upstream' : 'no rule matched: route.final') : `route.rules.${decision.index}`;
  return [
    `flow:   ${query.network} ${formatAddr(query.src)} → ${formatAddr(query.dst)}${port}${name}, inbound ${query.inbound}${query.user !== undefined ? `, user ${query.user}` : ''}`,
    `rule:   ${decision.rule}   [${where}]`,
    `target: ${targetText(decision, query, config)}`,
  ].join('\n');
}

export const routeExplainModule: CommandModule = {
  command: 'explain <dest>',
  describe: 'Show which route rule a flow to DEST would match and where it would go (reads the config and its lists; sends nothing)',
  builder: (yargs: Argv) =>
    withConfigOptions(yargs)
      .positional('dest', { type: 'string', describe: 'Destination: an IP address, a domain name, HOST:PORT or [IPv6]:PORT' })
      .option('port', { type: 'number', describe: 'Destination port (default: the one in DEST, else 0)' })
      .option('domain', { type: 'string', describe: 'The name the flow is known to be for (fake-IP mapping, sniffed TLS SNI / HTTP Host)' })
      .option('udp', { type: 'boolean', default: false, describe: 'A UDP flow (default TCP)' })
      .option('source', { type: 'string', describe: 'The client\'s address (default 0.0.0.0 / ::)' })
      .option('inbound', { type: 'string', choices: ROUTE_INBOUNDS, describe: 'The inbound that recovered the flow (default redirect; tproxy with --udp; socks with --user)' })
      .option('user', { type: 'string', describe: 'The user a client of the socks inbound logged in as (for user: rules)' }),
  handler: (args) => {
    let query: RouteQuery;
    try {
      query = explainQuery(args as unknown as ExplainArgs);
    } catch (err) {
      if (!(err instanceof ExplainUsageError)) throw err;
      process.stderr.write(`socksgate route explain: ${err.message}\nRun socksgate route explain --help for usage.\n`);
      process.exit(2);
    }
    try {
      const config = configFromArgs(args as never);
      process.stdout.write(`${formatExplanation(query, inspectRouting(config).route.decide(query), config)}\n`);
    } catch (err) {
      exitOnConfigError(err);
    }
  },
};

export const routeModule: CommandModule = {
  command: 'route <command>',
  describe: 'Look at the routing rules: `route explain DEST` shows the rule a flow would match',
  builder: (yargs: Argv) => yargs.command(routeExplainModule).demandCommand(1, 'name a route command: explain'),
  handler: () => {},
};
