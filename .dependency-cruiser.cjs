/**
 * The import rules of src/ (DESIGN.md "Import direction"), checked by `npm run lint:imports` in
 * `npm test`: a layer may import the layers below it, never one above it, and no file is on a cycle.
 *
 *   cli → daemon → {inbound, firewall, observe, cgroup} → route → dns → outbound → relay → native
 *       → config → codec → adapter → core
 */
const LAYERS = ['cli', 'daemon', '(inbound|firewall|observe|cgroup)', 'route', 'dns', 'outbound', 'relay', 'native', 'config', 'codec', 'adapter', 'core'];

const above = (i) => LAYERS.slice(0, i);
const layerRules = LAYERS.map((layer, i) => ({
  name: `layer-${layer.replace(/[()]/g, '').replace(/\|/g, '-')}`,
  comment: `${layer} may import only the layers below it`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: i === 0 ? '^$' : `^src/(${above(i).join('|')})/` },
})).filter((rule, i) => i > 0);

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'a cycle, at file or folder level, is a design bug', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'codec-is-pure', comment: 'codec/ imports core/ and itself only', severity: 'error', from: { path: '^src/codec/' }, to: { path: '^src/', pathNot: '^src/(core|codec)/' } },
    { name: 'adapter-is-a-leaf', comment: 'the contracts import core/ only', severity: 'error', from: { path: '^src/adapter/' }, to: { path: '^src/', pathNot: '^src/(core|adapter)/' } },
    { name: 'core-imports-nothing', severity: 'error', from: { path: '^src/core/' }, to: { path: '^src/', pathNot: '^src/core/' } },
    { name: 'observe-sees-contracts-only', comment: 'observe/ imports the contracts and core/ only', severity: 'error', from: { path: '^src/observe/' }, to: { path: '^src/', pathNot: '^src/(observe|adapter|core)/' } },
    { name: 'wiring-is-private', comment: 'only cli/ and daemon/ import the wiring layer', severity: 'error', from: { path: '^src/', pathNot: '^src/(cli|daemon)/' }, to: { path: '^src/daemon/' } },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
