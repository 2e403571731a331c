import * as z from 'zod';

/**
 * What a config section left out becomes: its schema's output for no input (its defaults). The
 * build (scripts/build.mjs) computes them once from the schemas and writes them into the bundle as
 * __SOCKSGATE_SECTION_DEFAULTS__, so a start need not build the schemas of sections its config
 * leaves out; without it (sources run as they are) they are computed here from the schemas.
 */
declare const __SOCKSGATE_SECTION_DEFAULTS__: string | undefined;

let fromBuild: Record<string, unknown> | undefined;

/** The defaults of `name`, a fresh copy each time (the config is frozen later). */
export function sectionDefault(name: string, schema: () => z.ZodType): unknown {
  if (typeof __SOCKSGATE_SECTION_DEFAULTS__ === 'string') {
    fromBuild ??= JSON.parse(__SOCKSGATE_SECTION_DEFAULTS__) as Record<string, unknown>;
    if (name in fromBuild) return structuredClone(fromBuild[name]);
  }
  return schema().parse(undefined);
}

/** Stands in for a section's schema when the config leaves it out: no input, its defaults out. */
export function sectionLeftOut<T extends z.ZodType>(name: string, schema: () => T): T {
  return z.undefined().optional().transform(() => sectionDefault(name, schema)) as unknown as T;
}

/** Every section's defaults as JSON, for the build; each must survive JSON (no undefined, Map…). */
export function sectionDefaultsJson(schemas: Readonly<Record<string, () => z.ZodType>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, schema().parse(undefined)])));
}
