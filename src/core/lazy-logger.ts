import type { Bindings, Logger as PinoLogger } from 'pino';

/** What socksgate asks of a logger: pino's, made only once a line is to be written. */
export interface Logger {
  level: string;
  isLevelEnabled(level: string): boolean;
  trace: PinoLogger['trace'];
  debug: PinoLogger['debug'];
  info: PinoLogger['info'];
  warn: PinoLogger['warn'];
  error: PinoLogger['error'];
  fatal: PinoLogger['fatal'];
  child(bindings: Bindings): Logger;
}

const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * A logger whose pino logger is made by `make` at the first line its level lets through (or the
 * first question only pino can answer): loading pino and setting up its logger (redaction, the
 * destination) was about a sixth of socksgate's own start-up (CPU profiles), in a start that, at
 * `--log-level warn`, writes nothing before it listens.
 * Until then its level and its children are its own; the pino logger made later gets that level.
 */
export class LazyLogger implements Logger {
  #real: PinoLogger | undefined;
  #level: string;

  constructor(
    private readonly make: () => PinoLogger,
    level: string,
  ) {
    if (!(level in LEVEL_VALUES)) throw new Error(`unknown log level: ${level}`);
    this.#level = level;
  }

  private real(): PinoLogger {
    if (!this.#real) {
      this.#real = this.make();
      this.#real.level = this.#level;
    }
    return this.#real;
  }

  get level(): string {
    return this.#real ? this.#real.level : this.#level;
  }

  set level(level: string) {
    if (this.#real) this.#real.level = level;
    else if (level in LEVEL_VALUES) this.#level = level;
    else this.real().level = level; // pino's own error for a level it does not know
  }

  isLevelEnabled(level: string): boolean {
    if (this.#real) return this.#real.isLevelEnabled(level);
    const value = LEVEL_VALUES[level];
    return value !== undefined && value >= LEVEL_VALUES[this.#level]!; // as pino compares
  }

  child(bindings: Bindings): Logger {
    return new LazyLogger(() => this.real().child(bindings), this.level);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', args: unknown[]): void {
    if (this.#real || this.isLevelEnabled(level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }
}
