# syntax=docker/dockerfile:1
# The Flotilla agent (SPEC A2, X4): runs next to a Docker engine and dials the
# server. Build from the repository root (deploy/README.md):
#   docker build -f deploy/agent.Dockerfile --build-arg FLOTILLA_VERSION=0.1.0 -t flotilla/agent:0.1.0 .
# test/lab/agent-image.ts builds this same image for the lab without a registry
# hub: it reads the final stage below (ENV, LABEL, HEALTHCHECK, ENTRYPOINT, …)
# and mirrors its COPY lines, so change both together.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production packages only, and no install scripts: the agent loads
# better-sqlite3's JavaScript (the CLI also registers the server command) but
# never its native binding, so the prebuilt binaries are dropped.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/prebuilds node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
# The version this image is built as; the agent reports it (src/version.ts), self-update compares it.
ARG FLOTILLA_VERSION=""
ARG FLOTILLA_REVISION=""
ARG FLOTILLA_CREATED=""
LABEL org.opencontainers.image.title="Flotilla agent" \
      org.opencontainers.image.description="Flotilla agent: dials the Flotilla server over gRPC with mutual TLS and serves this host's Docker engine to it" \
      org.opencontainers.image.version="${FLOTILLA_VERSION}" \
      org.opencontainers.image.revision="${FLOTILLA_REVISION}" \
      org.opencontainers.image.created="${FLOTILLA_CREATED}" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.vendor="Flotilla" \
      org.opencontainers.image.base.name="${NODE_IMAGE}" \
      flotilla.self="true"
ENV NODE_ENV=production \
    FLOTILLA_MODE=agent \
    FLOTILLA_CLUSTER_DIR=/data/cluster \
    FLOTILLA_DOCKER_HOST=unix:///var/run/docker.sock \
    FLOTILLA_VERSION="${FLOTILLA_VERSION}"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY deploy/agent-entrypoint.ts ./deploy/
# The identity lives here: mount a named volume on /data/cluster (it starts owned by the node user).
RUN mkdir -p /data/cluster && chown -R node:node /data && chmod 700 /data/cluster
# Healthy while the agent holds its channel to the server (src/agent/health-file.ts).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/node", "--disable-warning=ExperimentalWarning", "/app/src/agent/health-file.ts"]
# Starts as root only to read the socket's group and give up root (deploy/agent-entrypoint.ts).
ENTRYPOINT ["/usr/local/bin/node", "--disable-warning=ExperimentalWarning", "--disable-warning=DEP0123", "/app/deploy/agent-entrypoint.ts"]
CMD ["agent"]
