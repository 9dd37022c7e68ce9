# syntax=docker/dockerfile:1
# Both stages on Node 26, the Active LTS line since October 2026 and the fastest measured
# (bench/RESULTS.md: HTTP/2 and gRPC 0.50-0.62x nginx per core on 26 against 0.44-0.51x on 24).
# Build: compile the sources with dev dependencies, then keep only production ones
# (pino-pretty, optional, is left out: a container logs JSON lines).
FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY src ./src
RUN npx tsc -p tsconfig.build.json --incremental false \
  && npm prune --omit=dev --omit=optional --ignore-scripts

# Run: distroless Node (no shell, no package manager), as the non-root user.
FROM gcr.io/distroless/nodejs26-debian13:nonroot
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
COPY LICENSE ./
COPY config/container.yaml /etc/portside/portside.yaml
USER nonroot
# What config/container.yaml listens on: its TCP listener and the admin API (probes,
# metrics, dashboard). A config of your own may use other ports.
EXPOSE 6380 9901
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "/app/dist/src/cli/main.js"]
CMD ["run", "-c", "/etc/portside/portside.yaml"]
