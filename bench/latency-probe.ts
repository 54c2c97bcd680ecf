/** A request and how long it took; `at` is when it was sent (epoch ms, comparable with Redis' clock). */
export interface LatencySample {
  at: number;
  ms: number;
}

/**
 * Requests `url` at a steady rate, each on schedule whether or not the previous one answered,
 * so a blocked server shows as long latencies rather than as fewer samples.
 */
export function startLatencyProbe(url: string, perSecond = 20): { stop(): Promise<LatencySample[]> } {
  const samples: LatencySample[] = [];
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const at = Date.now();
    const t0 = performance.now();
    const p = fetch(url)
      .then((res) => res.arrayBuffer())
      .then(() => void samples.push({ at, ms: performance.now() - t0 }))
      .catch(() => void samples.push({ at, ms: NaN }))
      .finally(() => pending.delete(p));
    pending.add(p);
  }, 1000 / perSecond);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return samples.sort((a, b) => a.at - b.at);
    },
  };
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; a failed request counts as infinitely slow. */
export function summarize(samples: readonly LatencySample[]): LatencySummary {
  const ms = samples.map((s) => (Number.isNaN(s.ms) ? Infinity : s.ms)).sort((a, b) => a - b);
  const rank = (p: number) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))] ?? NaN;
  return { n: ms.length, p50: rank(0.5), p99: rank(0.99), max: ms.at(-1) ?? NaN };
}

export function within(samples: readonly LatencySample[], from: number, to: number): LatencySample[] {
  return samples.filter((s) => s.at >= from && s.at <= to);
}
