# syntax=docker/dockerfile:1
# One image, two roles:
#   API:    docker run IMAGE                        (node dist/main.js, PORT 3000)
#   worker: docker run IMAGE node dist/worker.js    (health and /metrics on WORKER_PORT 3001)

# ---- build: full dependency tree, compile TypeScript to dist/ ----
FROM node:22.23.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only, so no compiler or test tool reaches the runtime ----
FROM node:22.23.5-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM node:22.23.5-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to Node, so the worker can drain, and it reaps the worker's
# killed children, which Node as PID 1 would leave as zombies. No `-g`: signalling the whole
# process group would SIGTERM the task children directly and bypass the supervisor's drain.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup; 1000 is the
# image's `node` user. Files stay root-owned: the process needs to read them, never write them.
USER 1000:1000
EXPOSE 3000 3001
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
