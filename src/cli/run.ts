import type { Server } from 'node:net';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { LoopGuard } from '../inbound/loop-guard.js';
import { redirectInbound } from '../inbound/redirect-tcp.js';
import { startTcpInbound, type TcpInboundDeps } from '../inbound/tcp-inbound.js';
import { tproxyInbound } from '../inbound/tproxy-tcp.js';
import { raiseFileLimit } from '../native/index.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createOutbound } from '../outbound/create.js';
import { Sessions } from '../relay/sessions.js';
import { runTcpSession } from '../relay/tcp-session.js';
import { createRouter } from '../route/router.js';
import { configFromArgs, exitOnConfigError, hideSecretsFromPs, withConfigOptions } from './options.js';

async function startDaemon(config: Config, log: Logger): Promise<() => Promise<void>> {
  const settings = { mark: config.mark, connectTimeoutMs: config.timeouts.connect_ms, handshakeTimeoutMs: config.timeouts.handshake_ms };
  const outbounds = config.upstreams.map((upstream) => createOutbound(upstream, settings, log.child({ upstream: upstream.name })));
  const sessions = new Sessions();
  const session = { pickOutbound: createRouter(outbounds), idleMs: config.timeouts.idle_s * 1000, sessions, log };
  const deps: TcpInboundDeps = {
    guard: new LoopGuard([...config.redirect, ...config.tproxy], outbounds.map((o) => o.server)),
    log,
    onFlow: (flow, client) => void runTcpSession(flow, client, session),
  };
  const servers: Server[] = [];
  for (const at of config.redirect) servers.push(await startTcpInbound(redirectInbound, at, deps));
  for (const at of config.tproxy) servers.push(await startTcpInbound(tproxyInbound, at, deps));
  for (const outbound of outbounds) outbound.start?.();

  return async () => {
    for (const server of servers) server.close();
    log.info({ flows: sessions.size, deadlineMs: config.timeouts.drain_ms }, 'stopping: no new connections, draining flows');
    const cut = await sessions.drain(config.timeouts.drain_ms);
    log.info({ cut }, 'stopped');
  };
}

async function runCommand(args: ArgumentsCamelCase<Parameters<typeof configFromArgs>[0]>): Promise<void> {
  hideSecretsFromPs(process.argv.slice(2));
  let config: Config;
  try {
    config = configFromArgs(args);
  } catch (err) {
    exitOnConfigError(err);
  }
  const log = createLogger(config.log);
  const files = raiseFileLimit();
  let stop: () => Promise<void>;
  try {
    stop = await startDaemon(config, log);
  } catch (err) {
    log.fatal({ reason: errorCode(err) }, `cannot start: ${errorMessage(err)}`);
    process.exit(1);
  }
  log.info(
    { upstreams: config.upstreams.map((u) => u.name), redirect: config.redirect.map(formatAddr), tproxy: config.tproxy.map(formatAddr), mark: config.mark, fileLimit: files },
    'socksgate running',
  );
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export const runModule: CommandModule = {
  command: 'run',
  describe: 'Run the daemon: accept diverted connections and carry them through the upstream proxy',
  builder: (yargs: Argv) => withConfigOptions(yargs),
  handler: (args) => runCommand(args as never),
};
