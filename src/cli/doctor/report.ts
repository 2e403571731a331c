/** One doctor finding: a line of plain words, and whether it means something is wrong. */
export type Status = 'ok' | 'info' | 'warn' | 'FAIL';

export interface Finding {
  readonly status: Status;
  /** What was checked, e.g. "kernel TPROXY" or "upstream dante: UDP ASSOCIATE". */
  readonly subject: string;
  readonly text: string;
}

export const finding = (status: Status, subject: string, text: string): Finding => ({ status, subject, text });

export function formatFinding(f: Finding): string {
  return `${f.status.padEnd(4)}  ${f.subject}: ${f.text}\n`;
}

/** Only FAIL makes the exit status non-zero: a warning is worth knowing, not a broken setup. */
export function failed(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.status === 'FAIL');
}
