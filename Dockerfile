FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
# Cohort Control, the web console that `web` serves at /.
RUN npm run build:console
ENV NODE_ENV=production
CMD ["npx", "tsx", "src/web.ts"]
