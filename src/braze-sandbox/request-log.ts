/**
 * The partner endpoint calls the sandbox received, newest last. Bounded: only the latest
 * `capacity` entries are kept, while `count` and `max_identifiers` cover every call since the
 * last reset. Entries carry no secrets.
 */
export interface PartnerCallEntry {
  seq: number;
  /** When the call was answered. */
  at: string;
  /** When it arrived: the moment the rate limit counted it (before any held latency or work). */
  arrived_at: string;
  path: string;
  status: number;
  workspace_id: string | null;
  cohort_id: string | null;
  additions: number;
  removals: number;
  identifiers: number;
}

export interface PartnerCallLogSnapshot {
  count: number;
  max_identifiers: number;
  requests: PartnerCallEntry[];
}

export const DEFAULT_REQUEST_LOG_CAPACITY = 100_000;

export class PartnerCallLog {
  private entries: PartnerCallEntry[] = [];
  /** Where the oldest entry sits once the ring is full. */
  private oldest = 0;
  private count = 0;
  private maxIdentifiers = 0;

  constructor(private readonly capacity = DEFAULT_REQUEST_LOG_CAPACITY) {}

  record(call: Omit<PartnerCallEntry, 'seq' | 'at' | 'arrived_at'>, arrivedAt = Date.now()): PartnerCallEntry {
    this.count += 1;
    this.maxIdentifiers = Math.max(this.maxIdentifiers, call.identifiers);
    const at = new Date().toISOString();
    const entry: PartnerCallEntry = { seq: this.count, at, arrived_at: new Date(arrivedAt).toISOString(), ...call };
    if (this.entries.length < this.capacity) {
      this.entries.push(entry);
    } else {
      this.entries[this.oldest] = entry;
      this.oldest = (this.oldest + 1) % this.capacity;
    }
    return entry;
  }

  /** The running figures and the latest `limit` entries (all kept entries by default), oldest first. */
  snapshot(limit = this.capacity): PartnerCallLogSnapshot {
    const size = this.entries.length;
    const requests: PartnerCallEntry[] = [];
    for (let i = size - Math.min(limit, size); i < size; i++) requests.push(this.entries[(this.oldest + i) % size]!);
    return { count: this.count, max_identifiers: this.maxIdentifiers, requests };
  }

  clear(): void {
    this.entries = [];
    this.oldest = 0;
    this.count = 0;
    this.maxIdentifiers = 0;
  }
}
