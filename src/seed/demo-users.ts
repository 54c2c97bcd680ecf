/**
 * Deterministic demo users for the warehouse and the Braze sandbox.
 *
 * Every user is a pure function of (seed, index, now): a small PRNG is seeded from (seed, index)
 * alone, so any user can be regenerated on its own — by the warehouse seeder, by the sandbox
 * registration, and by tests that recompute what was stored. Identifiers are derived from the
 * index (not the seed), which makes them unique within a seeding and stable across seeds.
 */

export type Plan = 'free' | 'pro' | 'enterprise';

export interface DemoUserProperties {
  country: string;
  plan: Plan;
  age: number;
  newsletter: boolean;
  /** Present for about 40% of users, so `exists` / `not_exists` criteria have something to find. */
  utm_source?: string;
}

export interface DemoEvent {
  name: string;
  time: number;
}

export interface DemoUser {
  user_key: string;
  external_id: string | null;
  alias_name: string | null;
  alias_label: string | null;
  device_id: string | null;
  properties: DemoUserProperties;
  first_seen: number;
  last_seen: number;
  /** Sorted by time, all within the last {@link EVENT_WINDOW_DAYS} days before `now`. */
  events: DemoEvent[];
  /** Whether the Braze sandbox is told about this user; never true for a user without identifiers. */
  known_to_braze: boolean;
}

const DAY_MS = 86_400_000;
export const EVENT_WINDOW_DAYS = 90;
const FIRST_SEEN_MAX_DAYS = 365;
export const MAX_EVENTS_PER_USER = 6;

/** Shares of the identity kinds; they add up to 1. */
export const IDENTITY_SHARES = {
  externalId: 0.6,
  aliasOnly: 0.1,
  anonymousDevice: 0.25,
  none: 0.05,
} as const;
/** Among users with an external_id: those first seen anonymous, who also carry a device_id. */
export const EXTERNAL_WITH_DEVICE_SHARE = 0.25;
/** Among users with any identifier: those the Braze workspace has never heard of. */
export const UNKNOWN_TO_BRAZE_SHARE = 0.03;

export const COUNTRY_WEIGHTS: readonly (readonly [string, number])[] = [
  ['BR', 0.22],
  ['US', 0.2],
  ['PT', 0.1],
  ['DE', 0.1],
  ['FR', 0.08],
  ['GB', 0.08],
  ['ES', 0.07],
  ['MX', 0.06],
  ['IN', 0.05],
  ['JP', 0.04],
];

export const PLAN_WEIGHTS: readonly (readonly [Plan, number])[] = [
  ['free', 0.7],
  ['pro', 0.25],
  ['enterprise', 0.05],
];

export const EVENT_NAME_WEIGHTS: readonly (readonly [string, number])[] = [
  ['app_open', 0.45],
  ['view_item', 0.3],
  ['add_to_cart', 0.15],
  ['purchase', 0.1],
];

const UTM_SOURCES = ['google', 'facebook', 'newsletter', 'referral'] as const;
const UTM_SOURCE_SHARE = 0.4;

export const MIN_AGE = 16;
export const MAX_AGE = 80;

const COUNTRY_CODES = new Map(COUNTRY_WEIGHTS.map(([country], i) => [country, i]));
const PLAN_CODES = new Map(PLAN_WEIGHTS.map(([plan], i) => [plan, i]));
const UTM_SOURCE_CODES = new Map<string | undefined, number>([
  [undefined, 0],
  ...UTM_SOURCES.map((source, i) => [source, i + 1] as const),
]);

/**
 * A small non-negative integer per distinct demo properties object (equal properties, equal
 * codes), or undefined for properties that {@link demoUser} never makes. There are about 20,000:
 * the seed keeps each one's stored form by code instead of by its JSON text.
 */
export function demoPropertiesCode(properties: DemoUserProperties): number | undefined {
  const country = COUNTRY_CODES.get(properties.country);
  const plan = PLAN_CODES.get(properties.plan);
  const utmSource = UTM_SOURCE_CODES.get(properties.utm_source);
  const age = properties.age - MIN_AGE;
  if (country === undefined || plan === undefined || utmSource === undefined) return undefined;
  if (!Number.isInteger(age) || age < 0 || age > MAX_AGE - MIN_AGE) return undefined;
  const newsletter = properties.newsletter ? 1 : 0;
  return (
    (((country * PLAN_WEIGHTS.length + plan) * (MAX_AGE - MIN_AGE + 1) + age) * 2 + newsletter) *
      UTM_SOURCE_CODES.size +
    utmSource
  );
}

/** Zero-padded index, so keys sort like their indexes up to 10 million users. */
function paddedIndex(index: number): string {
  return String(index).padStart(7, '0');
}

export function demoUserKey(index: number): string {
  return `u-${paddedIndex(index)}`;
}

/** mulberry32: tiny, fast and good enough for demo data. Returns floats in [0, 1). */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** murmur3's finalizer over (seed, index), so neighbouring indexes get unrelated streams. */
function mixSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77)) >>> 0;
  h ^= Math.floor(index / 4294967296); // indexes beyond 2^32 still get their own stream
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function pickWeighted<T>(weights: readonly (readonly [T, number])[], r: number): T {
  let acc = 0;
  for (const [value, weight] of weights) {
    acc += weight;
    if (r < acc) return value;
  }
  // Rounding can leave r just above the sum; the last entry takes it.
  return weights[weights.length - 1]![0];
}

function hex(random: () => number, digits: number): string {
  return Math.floor(random() * 16 ** digits)
    .toString(16)
    .padStart(digits, '0');
}

/** UUID-shaped, with the index as the last group so it is unique by construction. */
function demoDeviceId(random: () => number, index: number): string {
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${String(index).padStart(12, '0')}`;
}

/** The part of a demo user that says who it is: what the Braze sandbox is told about. */
export type DemoUserIdentity = Pick<
  DemoUser,
  'external_id' | 'alias_name' | 'alias_label' | 'device_id' | 'known_to_braze'
>;

/** The identity draws come first in a user's random stream, so they can be made on their own. */
function drawIdentity(random: () => number, index: number): DemoUserIdentity {
  const id = paddedIndex(index);
  let external_id: string | null = null;
  let alias_name: string | null = null;
  let alias_label: string | null = null;
  let device_id: string | null = null;
  const identity = random();
  const deviceDraw = random();
  if (identity < IDENTITY_SHARES.externalId) {
    external_id = `ext-${id}`;
    if (deviceDraw < EXTERNAL_WITH_DEVICE_SHARE) device_id = demoDeviceId(random, index);
  } else if (identity < IDENTITY_SHARES.externalId + IDENTITY_SHARES.aliasOnly) {
    alias_name = `demo.user${id}@example.com`;
    alias_label = 'email';
  } else if (identity < IDENTITY_SHARES.externalId + IDENTITY_SHARES.aliasOnly + IDENTITY_SHARES.anonymousDevice) {
    device_id = demoDeviceId(random, index);
  }
  const hasIdentifier = external_id !== null || alias_name !== null || device_id !== null;
  const known_to_braze = hasIdentifier && random() >= UNKNOWN_TO_BRAZE_SHARE;
  return { external_id, alias_name, alias_label, device_id, known_to_braze };
}

/**
 * The identifiers of demo user number `index`, exactly as {@link demoUser} has them, without
 * drawing its properties and events: about a third of the cost, for the sandbox registration.
 */
export function demoUserIdentity(seed: number, index: number): DemoUserIdentity {
  return drawIdentity(mulberry32(mixSeed(seed, index)), index);
}

/**
 * The demo user number `index` for `seed`, with times relative to `now` (epoch ms).
 * Pure: the same arguments always give the same user.
 */
export function demoUser(seed: number, index: number, now: number): DemoUser {
  const random = mulberry32(mixSeed(seed, index));
  const { external_id, alias_name, alias_label, device_id, known_to_braze } = drawIdentity(random, index);

  const properties: DemoUserProperties = {
    country: pickWeighted(COUNTRY_WEIGHTS, random()),
    plan: pickWeighted(PLAN_WEIGHTS, random()),
    // The mean of two draws: ages cluster in the middle of the range, as real audiences do.
    age: MIN_AGE + Math.floor(((random() + random()) / 2) * (MAX_AGE - MIN_AGE + 1)),
    newsletter: random() < 0.35,
  };
  if (random() < UTM_SOURCE_SHARE) {
    properties.utm_source = UTM_SOURCES[Math.floor(random() * UTM_SOURCES.length)]!;
  }

  const first_seen = now - Math.floor(random() * FIRST_SEEN_MAX_DAYS * DAY_MS);
  const windowStart = Math.max(first_seen, now - EVENT_WINDOW_DAYS * DAY_MS);
  const span = now - windowStart;
  const eventCount = Math.floor(random() * (MAX_EVENTS_PER_USER + 1));
  const events: DemoEvent[] = [];
  for (let i = 0; i < eventCount; i++) {
    // In (windowStart, now]: strictly inside the window, never in the future.
    const time = span > 0 ? now - Math.floor(random() * span) : now;
    events.push({ name: pickWeighted(EVENT_NAME_WEIGHTS, random()), time });
  }
  events.sort((a, b) => a.time - b.time);

  let last_seen: number;
  if (events.length > 0) {
    last_seen = events[events.length - 1]!.time;
  } else {
    // No events in the window: last seen somewhere between first seen and the window's start.
    const quietUntil = now - EVENT_WINDOW_DAYS * DAY_MS;
    last_seen = first_seen < quietUntil ? first_seen + Math.floor(random() * (quietUntil - first_seen)) : first_seen;
  }

  return {
    user_key: demoUserKey(index),
    external_id,
    alias_name,
    alias_label,
    device_id,
    properties,
    first_seen,
    last_seen,
    events,
    known_to_braze,
  };
}
