/**
 * rate-limiting: requests per second … year per identifier (consumer, credential, ip, service, header, path),
 * counted in memory (`local`) or in Redis (`redis`, shared by every data plane), in fixed windows (Kong) or
 * sliding windows (Turnpike's `window_type: sliding`). Kong's headers: X-RateLimit-Limit/Remaining-<Period>,
 * RateLimit-Limit/Remaining/Reset, and Retry-After with the 429.
 */
import { RATE_LIMIT_PERIODS, type RateLimitingConfig, type RateLimitPeriod } from '@turnpike/shared'
import { defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'
import { localIncrement, localUsage } from './local-counters.ts'
import { type RedisClient, redisClient } from './redis-client.ts'
import { type PeriodLimit, redisUsageAndIncrement } from './redis-policy.ts'
import { LIMIT_HEADER, PERIOD_SECONDS, REMAINING_HEADER, windowStart } from './windows.ts'

const EMPTY_UUID = '00000000-0000-0000-0000-000000000000'

interface Compiled {
  conf: RateLimitingConfig
  limits: PeriodLimit[]
  periods: RateLimitPeriod[]
  sliding: boolean
  /** `ratelimit:<route>:<service>:` of the instance's scope: a global instance limits across all routes. */
  prefix: string
  redis: RedisClient | null
  identify: (ctx: PluginContext) => string
  /** Scratch array for the local policy's usage (the event loop runs one request at a time). */
  usage: number[]
}

function identifier(conf: RateLimitingConfig): (ctx: PluginContext) => string {
  const ip = (ctx: PluginContext) => ctx.request.clientIp
  switch (conf.limit_by) {
    case 'consumer':
      return (ctx) => ctx.consumer?.id ?? ctx.credential?.id ?? ip(ctx)
    case 'credential':
      return (ctx) => ctx.credential?.id ?? ip(ctx)
    case 'service':
      return (ctx) => ctx.service?.id ?? ip(ctx)
    case 'header': {
      const name = (conf.header_name ?? '').toLowerCase()
      return (ctx) => ctx.request.header(name) ?? ip(ctx)
    }
    case 'path':
      return (ctx) => (ctx.request.path === conf.path ? conf.path : ip(ctx))
    default:
      return ip
  }
}

/** Sets the headers, and answers 429 when a period is used up (Kong's logic, including its header choice). */
function decide(ctx: PluginContext, c: Compiled, usage: readonly number[], now: number): PluginResponse | undefined {
  let stop = -1
  for (let i = 0; i < c.limits.length; i++)
    if (c.limits[i].limit - Math.floor(usage[i]) <= 0) {
      stop = i
      break
    }
  const show = !c.conf.hide_client_headers
  // Only a rejection needs the headers as an object; a pass sets them straight on the response.
  const headers: Record<string, number> | undefined = stop === -1 ? undefined : {}
  const res = ctx.response
  let limit = 0
  let remaining = Number.POSITIVE_INFINITY
  let window = 0
  let reset = 1
  for (let i = 0; i < c.limits.length; i++) {
    const { period, limit: l } = c.limits[i]
    const length = PERIOD_SECONDS[period]
    const left = Math.max(0, l - Math.floor(usage[i]) - (stop === -1 || stop === i ? 1 : 0))
    if (left < remaining || (left === remaining && length > window)) {
      limit = l
      remaining = left
      window = length
      reset = Math.max(1, length - Math.floor((now - windowStart(period, now)) / 1000))
    }
    if (!show) continue
    if (headers) {
      headers[LIMIT_HEADER[period]] = l
      headers[REMAINING_HEADER[period]] = left
    } else {
      res.setHeader(LIMIT_HEADER[period], l)
      res.setHeader(REMAINING_HEADER[period], left)
    }
  }
  if (show) {
    if (headers) {
      headers['ratelimit-limit'] = limit
      headers['ratelimit-remaining'] = remaining
      headers['ratelimit-reset'] = reset
    } else {
      res.setHeader('ratelimit-limit', limit)
      res.setHeader('ratelimit-remaining', remaining)
      res.setHeader('ratelimit-reset', reset)
    }
  }
  if (headers === undefined) return undefined
  headers['retry-after'] = reset
  return ctx.error(c.conf.error_code, c.conf.error_message, headers)
}

function storeFailed(ctx: PluginContext, c: Compiled, err: unknown): PluginResponse | undefined {
  ctx.log.error({ err: (err as Error).message, redis: c.redis?.address }, 'failed to get usage')
  if (c.conf.fault_tolerant) return undefined
  throw err
}

export const rateLimitingHandler = defineHandler<RateLimitingConfig, Compiled>({
  compile(conf, env) {
    const limits = RATE_LIMIT_PERIODS.filter((p) => typeof conf[p] === 'number').map((p) => ({
      period: p,
      limit: conf[p] as number,
    }))
    if (conf.policy === 'cluster')
      env.logger.warn('rate-limiting policy "cluster" needs a database; data planes count locally instead')
    const { route_id, service_id } = env.instance
    return {
      conf,
      limits,
      periods: limits.map((l) => l.period),
      sliding: conf.window_type === 'sliding',
      prefix: `ratelimit:${route_id ?? EMPTY_UUID}:${service_id ?? EMPTY_UUID}:`,
      redis: conf.policy === 'redis' ? redisClient(conf.redis) : null,
      identify: identifier(conf),
      usage: limits.map(() => 0),
    }
  },
  access(ctx, c) {
    const id = c.identify(ctx)
    const now = Date.now()
    if (c.redis !== null)
      return redisUsageAndIncrement(c.redis, c.prefix, id, c.limits, c.sliding, now).then(
        (usage) => decide(ctx, c, usage, now),
        (err) => storeFailed(ctx, c, err),
      )
    const key = c.prefix + id
    const usage = c.usage
    for (let i = 0; i < c.limits.length; i++) usage[i] = localUsage(key, c.limits[i].period, c.sliding, now)
    const verdict = decide(ctx, c, usage, now)
    if (verdict === undefined) localIncrement(key, c.periods, now)
    return verdict
  },
})
