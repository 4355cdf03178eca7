# Herald worker image: runs dist/worker.js against the Temporal frontend at TEMPORAL_ADDRESS.
#
#   docker build -t herald-worker .
#   docker run -e TEMPORAL_ADDRESS=temporal:7233 -v herald-data:/var/lib/herald -p 9464:9464 herald-worker
#
# Stages: `toolchain` (Node + python3/make/g++ for better-sqlite3's native addon), `build` (all deps,
# tsc → dist/), `prod-deps` (production deps only, native addon built here), `runtime` (no toolchain,
# no dev deps, non-root). Works with the classic builder and BuildKit alike (no BuildKit-only syntax).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operator console (console/) is bundled into dist/console by scripts/build-console.ts.
COPY console ./console
COPY scripts/build-console.ts ./scripts/
RUN npm run build

FROM toolchain AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# The heap limit and fewer malloc arenas keep the worker within HERALD_WORKER_MEMORY_BUDGET's default
# (512MiB; README, "Memory of parked messages"): with a larger budget, raise the limit to the budget
# less 352 MiB (docker run -e NODE_OPTIONS=--max-old-space-size=…).
# HERALD_METRICS_HOST: the worker's metrics listener (HERALD_METRICS_PORT, 9464) on every interface of the
# container, since its default, 127.0.0.1, answers only inside it; publish 9464 or scrape on the container network.
ENV NODE_ENV=production \
    HERALD_DATA_DIR=/var/lib/herald \
    HERALD_METRICS_HOST=0.0.0.0 \
    NODE_OPTIONS=--max-old-space-size=160 \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the worker); only the data directory is
# writable. Creating it here, owned by `node`, makes a fresh named volume mounted on it writable too.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/herald && chown node:node /var/lib/herald
USER node

# The worker's only HTTP port, its metrics listener, answers whether or not it is connected, so the check asks
# the kernel instead: healthy while this container holds an ESTABLISHED TCP connection to the Temporal
# frontend's port (the port of TEMPORAL_ADDRESS, or of 127.0.0.1:TEMPORAL_PORT when it is unset, as in
# src/config/config.ts). A running worker always has one (its task-queue long polls); a worker that lost
# Temporal, or never connected, has none. A fresh TCP probe would only prove Temporal is reachable, not
# that the worker is connected to it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const fs=require('fs'),os=require('os');const a=process.env.TEMPORAL_ADDRESS||'127.0.0.1:'+(process.env.TEMPORAL_PORT||'7233');const port=':'+Number(a.slice(a.lastIndexOf(':')+1)).toString(16).toUpperCase().padStart(4,'0');const held=['/proc/net/tcp','/proc/net/tcp6'].some(f=>{try{return fs.readFileSync(f,'utf8').split(os.EOL).some(l=>{const c=l.trim().split(/ +/);return c[3]==='01'&&c[2].endsWith(port)})}catch{return false}});if(!held)console.error('no established connection to Temporal port '+a);process.exit(held?0:1)"]

# The worker's metrics listener (GET /metrics; the API, started with `node dist/api-server.js`, serves its own on
# HERALD_API_PORT).
EXPOSE 9464

# SIGTERM (docker stop) makes the Temporal SDK drain the worker before it exits.
CMD ["node", "dist/worker.js"]
