/** The benchmark's results as run.ts collects them (bench-out/latest.json); table.ts renders them. */
import type { BulkSample } from './measure-bulk.js';
import type { CpsSample } from './measure-cps.js';
import type { DnsLatency, DnsNames, DnsRate } from './measure-dns.js';
import type { InboundBulkSample, InboundCpsSample, InboundServer } from './measure-inbound.js';
import type { MemoryResult } from './measure-memory.js';
import type { TtfbSamples } from './measure-ttfb.js';
import type { UdpSample } from './measure-udp.js';
import type { VariantId } from './socksifiers.js';

export interface Results {
  meta: {
    date: string;
    /** The columns, in order. */
    variants: VariantId[];
    /** What socksgate's default relay is in this build ('splice' / 'copy' / unknown). */
    socksgateRelay: string;
    quick: boolean;
    runs: number;
    bulkSeconds: number;
    cpsSeconds: number;
    memoryCount: Partial<Record<VariantId, number>>;
    memoryWaves: number;
    ttfbCount: number;
    machine: string;
    versions: Record<string, string>;
    elapsedS?: number;
  };
  /** case name → variant → samples */
  bulk: Record<string, Partial<Record<VariantId, BulkSample[]>>>;
  ttfb?: {
    nominalRttMs: number;
    measuredRttMs: number;
    /** Dante's own time to answer a username/password login (crypt(3)), no delay. */
    danteLoginMs: number;
    noAuth: Partial<Record<VariantId, TtfbSamples>>;
    auth: Partial<Record<VariantId, TtfbSamples>>;
  };
  cps: Partial<Record<VariantId, CpsSample[]>>;
  /** socksgate, one process and --workers 2, with each process capped at `capCpus` CPUs. */
  cpsCapped: Partial<Record<VariantId, CpsSample[]>>;
  capCpus?: number;
  /** One result per run (a fresh socksifier process each); the first run also has the growth waves. */
  memory: Partial<Record<VariantId, MemoryResult[]>>;
  startupMs: Partial<Record<VariantId, number[]>>;
  /** CPU time used by then (bench-lab.ts Started.startupCpuMs); absent in results from before it. */
  startupCpuMs?: Partial<Record<VariantId, number[]>>;
  /** A bare `node -e 0` in the client namespace, spawn to exit (incl. ip netns exec), ms: start-up's floor. */
  bareNodeMs: number[];
  /** A bare node listening on a TCP port, spawn to listening, timed as the socksifiers are, ms: a second floor. */
  bareListenMs?: number[];
  /** That bare node's CPU time when seen listening, ms. */
  bareListenCpuMs?: number[];
  /** Figure 5a: one sample per run (a fresh socksifier each). */
  udp?: Partial<Record<VariantId, UdpSample[]>>;
  dns?: {
    rttMs: number;
    /** cached ('same' name) / uncached ('unique' names) → variant → one sample per run */
    rate: Partial<Record<DnsNames, Partial<Record<VariantId, DnsRate[]>>>>;
    latency: Partial<Record<DnsNames, Partial<Record<VariantId, DnsLatency>>>>;
  };
  /** Figure 6: SOCKS5 servers (socksgate's proxy inbound, microsocks, Dante), one sample per run. */
  inbound?: {
    concurrency: number;
    cpsSeconds: number;
    bulkBytes: number;
    cps: Partial<Record<InboundServer, InboundCpsSample[]>>;
    /** The same load with the CONNECTs naming the target (a name the server resolves); absent in older results. */
    cpsByName?: Partial<Record<InboundServer, InboundCpsSample[]>>;
    /** case name → server → samples */
    bulk: Record<string, Partial<Record<InboundServer, InboundBulkSample[]>>>;
  };
  notes: string[];
}

export function emptyResults(meta: Results['meta']): Results {
  return { meta, bulk: {}, cps: {}, cpsCapped: {}, memory: {}, startupMs: {}, bareNodeMs: [], notes: [] };
}
