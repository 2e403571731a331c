/** One command apply or flush runs; `print` shows the same list. */
export interface Step {
  readonly cmd: string;
  readonly args: readonly string[];
  /** Fed to stdin. */
  readonly input?: string;
  /** Run again until it fails (deleting every copy of something that may exist many times). */
  readonly untilFails?: boolean;
  /** A failure is expected when there is nothing to remove. */
  readonly mayFail?: boolean;
  /** What `print` shows instead of `input` (huge element lists summarised). */
  readonly shown?: string;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./[\]-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatStep(step: Step): string {
  const line = [step.cmd, ...step.args].map(quote).join(' ');
  const note = step.untilFails ? '   # repeated until none is left' : step.mayFail ? '   # may fail: nothing to remove' : '';
  const input = step.shown ?? step.input;
  if (input === undefined) return `${line}${note}\n`;
  return `${line} <<'EOF'${note}\n${input}${input.endsWith('\n') ? '' : '\n'}EOF\n`;
}
