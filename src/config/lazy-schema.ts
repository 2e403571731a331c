/**
 * A zod schema built on first use. zod makes objects for every `.min()`, `.default()`… and V8 runs
 * that start-up code in its interpreter: building the whole config schema cost ~30–50 ms of CPU
 * (measured on a busy 2-core machine, against ~10 ms for loading zod itself) before the daemon
 * listened. A config names few of its sections, so the sections' schemas are built only for a
 * config that has them (schema.ts configSchemaFor).
 */
export function lazySchema<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
