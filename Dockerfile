FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The lock file as committed, exactly (vite is held at 8.0.x: 8.4 names an optional package the registry lacks, which breaks npm ci).
RUN npm ci --no-audit --no-fund
COPY . .
# Cohort Control, the web console that `web` serves at /.
RUN npm run build:console
ENV NODE_ENV=production
# node itself as PID 1 receives SIGTERM (npx would not pass it on): processes drain and stop in order.
CMD ["node", "--import", "tsx", "src/web.ts"]
