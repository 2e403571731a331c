import type { Server } from 'node:http';
import { errorMessage } from '../core/errors.js';
import type { DaemonEndpoints, StatusSnapshot } from '../observe/control.js';
import { serveControl } from './control-socket.js';
import { FlowTable } from '../observe/flow-table.js';
import type { Logger } from '../core/log.js';
import { Metrics, type MetricSources } from '../observe/metrics.js';
import type { OutboundRegistry } from '../outbound/registry.js';
import type { DecisionObserver } from '../adapter/decision-observer.js';
import type { SocksAddr } from '../core/addr.js';

/** What the metrics and the status table read from the running daemon, whatever a reload swapped. */
export interface DaemonView extends MetricSources {
  registry(): OutboundRegistry;
  endpoints(): DaemonEndpoints;
}

/** The daemon's observers: the flow table and metrics, and the servers that show them. */
export interface Observation {
  readonly flows: FlowTable;
  /** Told every route decision (metrics); absent without --metrics. */
  readonly decisions?: DecisionObserver;
  /** Told each upstream's handshake time. */
  handshake?(upstream: string, seconds: number): void;
  dnsAttempt?(resolver: string, seconds: number, outcome: string): void;
  /** Opens the metrics listener and the control socket; a busy control socket only warns. */
  serve(view: DaemonView): Promise<void>;
  close(): void;
}

/** Where the daemon shows itself: a metrics listener and a control socket, each optional. */
export interface ObserveSettings {
  readonly metricsAt?: SocksAddr;
  readonly control?: string;
}

export function createObservation({ metricsAt, control }: ObserveSettings, log: Logger): Observation {
  let view: DaemonView | undefined;
  const metrics = metricsAt && new Metrics({ udp: () => view?.udp(), dns: () => view?.dns(), groups: () => view?.registry().groups.map((g) => g.health()) ?? [] });
  const flows = new FlowTable(metrics);
  const startedAt = Date.now();
  let metricsServer: Server | undefined;
  let controlServer: { close(): void } | undefined;
  const snapshot = (): StatusSnapshot => ({
    pid: process.pid,
    now: Date.now(),
    startedAt,
    flows: flows.list(),
    upstreams: [...(view?.registry().upstreams ?? []), ...(view?.registry().chains ?? [])].map((o) => o.health()),
    groups: (view?.registry().groups ?? []).map((g) => g.health()),
    ...(view?.udp() ? { udp: view.udp()!.sizes() } : {}),
    ...(view ? { endpoints: view.endpoints() } : {}),
  });
  return {
    flows,
    ...(metrics ? { decisions: metrics } : {}),
    ...(metrics ? { handshake: (upstream: string, seconds: number) => metrics.handshake(upstream, seconds) } : {}),
    ...(metrics ? { dnsAttempt: (resolver: string, seconds: number, outcome: string) => metrics.dnsAttempt(resolver, seconds, outcome) } : {}),
    async serve(daemon) {
      view = daemon;
      // Imported only with --metrics: node:http costs ~3 ms of start-up.
      if (metrics && metricsAt) metricsServer = await (await import('../observe/metrics-server.js')).serveMetrics(metrics, metricsAt, log);
      if (control === undefined) return;
      try {
        controlServer = await serveControl(control, snapshot, log);
      } catch (err) {
        log.warn({ control }, `no control socket (socksgate status will not reach this daemon): ${errorMessage(err)}`);
      }
    },
    close() {
      metricsServer?.close();
      controlServer?.close();
    },
  };
}
