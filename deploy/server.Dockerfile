# syntax=docker/dockerfile:1
# The Flotilla server (SPEC X1, X4): REST API and dashboard (8080), the agent
# endpoint (9443) and the Docker-API fleet endpoint (2376), SQLite in /data.
# Build from the repository root (deploy/README.md):
#   docker build -f deploy/server.Dockerfile --build-arg FLOTILLA_VERSION=0.1.0 -t flotilla/server:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm-slim

# The dashboard: typechecked and bundled by Vite into web/dist (dev packages, this stage only).
FROM ${NODE_IMAGE} AS web
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY web ./web
RUN node node_modules/typescript/bin/tsc -p web/tsconfig.json \
 && node node_modules/vite/bin/vite.js build web --logLevel warn

# Production packages. better-sqlite3 ships prebuilt N-API bindings; only this
# platform's is kept, and loaded once here so a missing one fails the build,
# not the first start. (No prebuilt binding for your platform: install
# python3, make and g++ in this stage and drop --ignore-scripts.)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build \
 && find node_modules/better-sqlite3/prebuilds -type f ! -name "$(node -p 'process.platform + "-" + process.arch').node" -delete \
 && node -e "new (require('better-sqlite3'))(':memory:').close()" \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG FLOTILLA_VERSION=""
ARG FLOTILLA_REVISION=""
ARG FLOTILLA_CREATED=""
LABEL org.opencontainers.image.title="Flotilla server" \
      org.opencontainers.image.description="Flotilla: one control plane for a fleet of Docker hosts and Swarm clusters" \
      org.opencontainers.image.version="${FLOTILLA_VERSION}" \
      org.opencontainers.image.revision="${FLOTILLA_REVISION}" \
      org.opencontainers.image.created="${FLOTILLA_CREATED}" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.vendor="Flotilla" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# Listen on every interface of the container; publish the ports as compose.server.yaml does.
ENV NODE_ENV=production \
    FLOTILLA_DATA_DIR=/data \
    FLOTILLA_LISTEN_HOST=0.0.0.0 \
    FLOTILLA_AGENT_LISTEN_HOST=0.0.0.0 \
    FLOTILLA_DOCKER_LISTEN_HOST=0.0.0.0 \
    FLOTILLA_VERSION="${FLOTILLA_VERSION}"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY --from=web /build/web/dist ./web/dist
# Database, secret key, CA and setup code: mount a volume on /data.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
EXPOSE 8080 9443 2376
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/node", "-e", "fetch('http://127.0.0.1:' + (process.env.FLOTILLA_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/node", "--disable-warning=ExperimentalWarning", "--disable-warning=DEP0123", "/app/src/cli/main.ts"]
CMD ["server"]
