import type { IpFamily } from '../core/cidr.js';
import { runTool } from './exec.js';
import type { Observed, OwnedNames } from './transaction.js';

const SAVE: Record<IpFamily, string> = { ipv4: 'iptables-save', ipv6: 'ip6tables-save' };

function saved(family: IpFamily): string | undefined {
  const r = runTool(SAVE[family], []);
  return r.ok ? r.stdout : undefined;
}

/** A read-only look at what is installed in this namespace. */
export function observe(names: Pick<OwnedNames, 'nftTable'>): Observed {
  const nft = runTool('nft', ['--version']).ok;
  const nftTable = nft && runTool('nft', ['list', 'table', 'inet', names.nftTable]).ok;
  const iptablesNft = runTool('iptables', ['-V']).stdout.includes('nf_tables');
  return { nft, nftTable, iptablesNft, saved: { ipv4: saved('ipv4'), ipv6: saved('ipv6') } };
}
