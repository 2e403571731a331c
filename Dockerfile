# socksgate container image. Build: docker build -t socksgate .
#
# Two stages: the build stage has the compilers (python3, make, g++) that node-gyp needs for the
# native addon and the dev dependencies (TypeScript) that build dist/; the runtime image has
# neither, only Node 20, the firewall tools `socksgate rules` runs (nft, iptables, ip) and the
# built program.
#
# Users and capabilities (see docs/sidecar.md):
#   - The image runs as the unprivileged user socksgate, uid/gid 10001 (fixed, so rules can
#     exclude it: --exclude-uid 10001).
#   - `socksgate rules apply|flush` needs CAP_NET_ADMIN in the network namespace it changes (plus
#     CAP_NET_RAW with iptables-legacy; Debian's default iptables is iptables-nft). Run it as uid 0
#     with those capabilities added: Docker and Kubernetes give added capabilities to uid 0 only
#     (a non-root process would need them as ambient capabilities, which neither sets).
#   - `socksgate run` in sidecar mode (REDIRECT listener and DNS on 127.0.0.1, ports above 1024,
#     excluded by uid) needs no capability at all: run it as socksgate with every one dropped.
#   - `socksgate run` with TPROXY or --mark (host and router modes) needs CAP_NET_ADMIN, and a
#     DNS listener on a port below 1024 CAP_NET_BIND_SERVICE: as uid 0 with those added.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The official Node images ship Node's headers in /usr/local/include/node: node-gyp builds against
# them instead of downloading a headers tarball.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json binding.gyp tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/main-loader.cjs ./scripts/
COPY src ./src
# npm ci installs the dependencies and runs the package's own `install` (node-gyp rebuild:
# build/Release/socksgate_native.node) and `prepare` (type check, esbuild, one start of the bundle for
# V8's code cache: dist/) scripts; then the dev
# dependencies go.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && test -f build/Release/socksgate_native.node \
 && test -f dist/main.js

FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables nftables iproute2 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 socksgate \
 && useradd --system --uid 10001 --gid socksgate --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin socksgate \
 && install -d -o socksgate -g socksgate -m 0750 /run/socksgate /etc/socksgate
WORKDIR /opt/socksgate
# dist/native/index.js loads ../../build/Release/socksgate_native.node, and package.json says
# "type": "module": the layout under /opt/socksgate is the repository's.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/socksgate_native.node ./build/Release/socksgate_native.node
# The package's bin (dist/main.js, #!/usr/bin/env node) on PATH; the addon must load here, without
# the build stage's compilers.
RUN chmod 0755 dist/main.js \
 && ln -s /opt/socksgate/dist/main.js /usr/local/bin/socksgate \
 && node -e 'require("/opt/socksgate/build/Release/socksgate_native.node")' \
 && socksgate --version
ENV NODE_ENV=production
USER socksgate:socksgate
ENTRYPOINT ["socksgate"]
CMD ["--help"]
