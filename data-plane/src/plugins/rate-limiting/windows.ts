/** Rate-limit periods: their lengths, the start of the current window, and the per-period header names. */
import type { RateLimitPeriod } from '@turnpike/shared'

/** Seconds per period, as Kong's EXPIRATION table (a month is 30 days, a year 365). */
export const PERIOD_SECONDS: Record<RateLimitPeriod, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  month: 2592000,
  year: 31536000,
}

/** Start (epoch ms) of the fixed window holding `now`: calendar months and years, UTC, as Kong. */
export function windowStart(period: RateLimitPeriod, now: number): number {
  switch (period) {
    case 'second':
      return now - (now % 1000)
    case 'minute':
      return now - (now % 60_000)
    case 'hour':
      return now - (now % 3_600_000)
    case 'day':
      return now - (now % 86_400_000)
    case 'month': {
      const d = new Date(now)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    }
    case 'year':
      return Date.UTC(new Date(now).getUTCFullYear(), 0, 1)
  }
}

/** Kong's X-RateLimit-Limit-<Period> and X-RateLimit-Remaining-<Period>, lowercased like every header the proxy sends. */
export const LIMIT_HEADER: Record<RateLimitPeriod, string> = Object.fromEntries(
  (Object.keys(PERIOD_SECONDS) as RateLimitPeriod[]).map((p) => [p, `x-ratelimit-limit-${p}`]),
) as Record<RateLimitPeriod, string>

export const REMAINING_HEADER: Record<RateLimitPeriod, string> = Object.fromEntries(
  (Object.keys(PERIOD_SECONDS) as RateLimitPeriod[]).map((p) => [p, `x-ratelimit-remaining-${p}`]),
) as Record<RateLimitPeriod, string>
