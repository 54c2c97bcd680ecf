/** How long an API request waits for Redis before answering 503 (the default of QUEUE_DEADLINE_MS). */
export const QUEUE_DEADLINE_MS = 5_000;

/**
 * Rejects when `work` takes longer than `ms`. BullMQ waits for its Redis connection to be
 * ready before sending a command, so while Redis is away a queue call would otherwise hang
 * the HTTP request for good.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
