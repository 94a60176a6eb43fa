import { atLeastOneOf, conditional, eq } from '../entities/checks.ts'
import { headerName, path } from '../entities/typedefs.ts'
import type { FieldDef } from '../schema/types.ts'
import { flag, HTTP_ONLY, type RedisConfig, redisField } from './common-fields.ts'
import { definePlugin } from './define.ts'

const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const
const limit: FieldDef = { type: 'number', gt: 0 }
const SYNC_RATE_REALTIME = -1

/** Kong's config check: a longer period may not allow fewer requests; sync_rate only batches Redis writes. */
function checkConfig(c: Record<string, unknown>): string | undefined {
  for (const [i, lower] of PERIODS.entries()) {
    const v1 = c[lower]
    if (typeof v1 !== 'number') continue
    for (const upper of PERIODS.slice(i + 1)) {
      const v2 = c[upper]
      if (typeof v2 === 'number' && v2 < v1)
        return `The limit for ${upper}(${v2.toFixed(1)}) cannot be lower than the limit for ${lower}(${v1.toFixed(1)})`
    }
  }
  const syncRate = c.sync_rate as number
  if (c.policy !== 'redis' && syncRate !== SYNC_RATE_REALTIME) return 'sync_rate can only be used with the redis policy'
  if (c.policy === 'redis' && syncRate !== SYNC_RATE_REALTIME && syncRate < 0.02)
    return 'sync_rate must be greater than 0.02, or -1 to disable'
  return undefined
}

// Kong's deprecated flat Redis fields (`redis_host` …), still accepted on input.
const REDIS_SHORTHANDS = [
  'host',
  'port',
  'password',
  'username',
  'ssl',
  'ssl_verify',
  'server_name',
  'timeout',
  'database',
]

export type RateLimitPeriod = (typeof PERIODS)[number]
export const RATE_LIMIT_PERIODS: readonly RateLimitPeriod[] = PERIODS

/** rate-limiting's validated config. */
export interface RateLimitingConfig extends Partial<Record<RateLimitPeriod, number | null>> {
  limit_by: 'consumer' | 'credential' | 'ip' | 'service' | 'header' | 'path'
  header_name: string | null
  path: string | null
  policy: 'local' | 'cluster' | 'redis'
  fault_tolerant: boolean
  redis: RedisConfig
  hide_client_headers: boolean
  error_code: number
  error_message: string
  sync_rate: number
  window_type: 'fixed' | 'sliding'
}

/** rate-limiting: limits requests per period and identifier, counting locally, in the cluster store or in Redis. */
export const rateLimiting = definePlugin({
  name: 'rate-limiting',
  priority: 910,
  phases: ['access'],
  protocols: HTTP_ONLY,
  config: {
    second: limit,
    minute: limit,
    hour: limit,
    day: limit,
    month: limit,
    year: limit,
    limit_by: {
      type: 'string',
      default: 'consumer',
      one_of: ['consumer', 'credential', 'ip', 'service', 'header', 'path'],
    },
    header_name: headerName,
    path: path,
    policy: { type: 'string', default: 'local', len_min: 0, one_of: ['local', 'cluster', 'redis'] },
    // Proxy anyway when the counter store is unreachable.
    fault_tolerant: flag(true),
    redis: redisField,
    hide_client_headers: flag(false),
    error_code: { type: 'number', default: 429, gt: 0 },
    error_message: { type: 'string', default: 'API rate limit exceeded' },
    // Seconds between counter syncs to Redis; -1 counts synchronously.
    sync_rate: { type: 'number', required: true, default: SYNC_RATE_REALTIME },
    // Turnpike extension: `sliding` weighs the previous window in, smoothing bursts at window edges.
    window_type: {
      type: 'string',
      default: 'fixed',
      one_of: ['fixed', 'sliding'],
      description: 'Turnpike extension: fixed (Kong) or sliding window counting.',
    },
  },
  config_check: checkConfig,
  checks: [
    atLeastOneOf(PERIODS.map((p) => `config.${p}`)),
    conditional({
      if_field: 'config.policy',
      if_match: eq('redis'),
      then_field: 'config.redis.host',
      then_required: true,
    }),
    conditional({
      if_field: 'config.policy',
      if_match: eq('redis'),
      then_field: 'config.redis.port',
      then_required: true,
    }),
    conditional({
      if_field: 'config.policy',
      if_match: eq('redis'),
      then_field: 'config.redis.timeout',
      then_required: true,
    }),
    conditional({
      if_field: 'config.limit_by',
      if_match: eq('header'),
      then_field: 'config.header_name',
      then_required: true,
    }),
    conditional({ if_field: 'config.limit_by', if_match: eq('path'), then_field: 'config.path', then_required: true }),
  ],
  shorthands: Object.fromEntries(REDIS_SHORTHANDS.map((f) => [`redis_${f}`, (v: unknown) => ({ redis: { [f]: v } })])),
  extensions: ['window_type'],
})
