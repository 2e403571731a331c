import { DOMAIN_NAME } from '../config/route-schema.js';
import { addListFile } from './lists.js';
import { DomainSet } from './match/domain-set.js';
import { listText } from './match/matcher.js';

/** The name matchers a rule of route.rules or dns.rules may have. */
export interface DomainKeys {
  readonly domain?: readonly string[];
  readonly domain_suffix?: readonly string[];
  readonly domain_keyword?: readonly string[];
  readonly domain_file?: string;
}

/**
 * A rule's name matchers as one DomainSet (any of them may match) and their text form, or
 * undefined when it has none. `path` names a key for errors; a bad list names `file:line`.
 */
export function compileDomains(rule: DomainKeys, path: (key: string) => string): { set: DomainSet; text: string } | undefined {
  if (!rule.domain && !rule.domain_suffix && !rule.domain_keyword && !rule.domain_file) return undefined;
  const set = new DomainSet();
  const texts: string[] = [];
  if (rule.domain) {
    rule.domain.forEach((name) => set.addExact(name));
    texts.push(listText('domain', rule.domain));
  }
  if (rule.domain_suffix) {
    rule.domain_suffix.forEach((name) => set.addSuffix(name));
    texts.push(listText('domain_suffix', rule.domain_suffix));
  }
  if (rule.domain_keyword) {
    rule.domain_keyword.forEach((text) => set.addKeyword(text));
    texts.push(listText('domain_keyword', rule.domain_keyword));
  }
  if (rule.domain_file) {
    const entries = addListFile(rule.domain_file, path('domain_file'), (text) => addDomainLine(set, text));
    texts.push(`domain_file=${rule.domain_file} (${entries} entries)`);
  }
  return { set, text: texts.join(' or ') };
}

const DOMAIN_LINE_KIND = /^(full|suffix|keyword):/;

/** A domain_file line: `full:NAME` (exactly), `keyword:TEXT`, `suffix:NAME` or a bare NAME (it and every name under it). */
function addDomainLine(set: DomainSet, text: string): void {
  if (text.includes('*')) throw new RangeError(`"${text}": no wildcards: a bare NAME (or suffix:NAME) matches it and every name under it`);
  const kind = DOMAIN_LINE_KIND.exec(text)?.[1];
  const name = kind === undefined ? text : text.slice(kind.length + 1);
  if (!DOMAIN_NAME.test(name)) throw new RangeError(`"${text}": expected a domain name, or full:NAME, suffix:NAME, keyword:TEXT`);
  if (kind === 'full') set.addExact(name);
  else if (kind === 'keyword') set.addKeyword(name);
  else set.addSuffix(name);
}
