FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
# node itself as PID 1 receives SIGTERM (npx would not pass it on): processes drain and stop in order.
CMD ["node", "--import", "tsx", "src/web.ts"]
