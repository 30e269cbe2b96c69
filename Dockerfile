# syntax=docker/dockerfile:1
# Tacit's verification server (and the demo bank, same image, another command) for
# compose.yaml. Multi-stage: TypeScript is bundled in `build`, production dependencies are
# installed in `deps`, and the runtime stage gets only those and the bundles, running as the
# unprivileged `node` user. No container engine runs on the development machines: this file is
# checked by tools/deploy/compose.test.ts, not built, there (docs/deployment.md).
ARG NODE_VERSION=20.19

# Bundles server/src/main.ts, the SQLite writer thread and the demo bank into dist/server/
# (tools/deploy/bundle.ts): the runtime needs no tsx.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json manifest.json ./
COPY server ./server
COPY tools/deploy ./tools/deploy
RUN npx tsx tools/deploy/bundle.ts

# `npm ci --omit=dev`: production dependencies only. better-sqlite3 compiles its native addon
# here (python3, make and g++ come with the full bookworm image); the runtime stage has the same
# Debian and Node, so the addon loads there without a compiler in the final image.
FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TACIT_HOST=0.0.0.0 \
    TACIT_PORT=8787
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/server ./dist/server
# manifest.json: the server derives the extension's origin (CORS) from its key.
COPY package.json manifest.json ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8787
# Liveness as nginx cannot see it (its checks are passive): GET /healthz, store reachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TACIT_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) drains: open requests finish, then the store is closed.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/main.mjs"]
