/**
 * An `upstreams` entry with `chain:`: a cascade through the outbounds its hops name, in order. Its
 * name shares the upstreams' and groups' namespace (outbound-names.ts checks hops like members).
 */
export interface ChainConfig {
  readonly name: string;
  readonly hops: readonly string[];
}
