/**
 * The `redis` policy: every period's counter checked and incremented in one atomic script (one round trip),
 * shared by every data plane that points at the same Redis. A rejected request is not counted, as in Kong.
 * Sliding windows read the previous window's key too and weigh it in the script.
 */
import type { RateLimitPeriod } from '@turnpike/shared'
import type { RedisClient } from './redis-client.ts'
import { PERIOD_SECONDS, windowStart } from './windows.ts'

// KEYS: current and previous window key per period. ARGV: limit, ttl (s) and weight of the previous window per
// period. Returns the usage per period before this request, scaled by 1000 (Lua numbers become integers), then
// 1 when the request was blocked (and not counted).
const SCRIPT = `
local n = #KEYS / 2
local usage = {}
local blocked = 0
for i = 1, n do
  local cur = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local prev = 0
  local w = tonumber(ARGV[3 * i])
  if w > 0 then prev = tonumber(redis.call('GET', KEYS[2 * i]) or '0') end
  local u = cur + prev * w
  usage[i] = math.floor(u * 1000)
  if u >= tonumber(ARGV[3 * i - 2]) then blocked = 1 end
end
if blocked == 0 then
  for i = 1, n do
    local v = redis.call('INCR', KEYS[2 * i - 1])
    if v == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[3 * i - 1]) end
  end
end
usage[n + 1] = blocked
return usage
`

export interface PeriodLimit {
  period: RateLimitPeriod
  limit: number
}

/** Usage per period (before this request); the request is counted unless some period is exhausted. */
export async function redisUsageAndIncrement(
  client: RedisClient,
  prefix: string,
  identifier: string,
  limits: readonly PeriodLimit[],
  sliding: boolean,
  now: number,
): Promise<number[]> {
  const keys: string[] = []
  const args: (string | number)[] = []
  for (const { period, limit } of limits) {
    const length = PERIOD_SECONDS[period] * 1000
    const start = windowStart(period, now)
    keys.push(`${prefix}${identifier}:${start}:${period}`, `${prefix}${identifier}:${start - length}:${period}`)
    const weight = sliding ? Math.max(0, 1 - (now - start) / length) : 0
    args.push(limit, PERIOD_SECONDS[period] * (sliding ? 2 : 1), weight)
  }
  const reply = await client.command(['EVAL', SCRIPT, keys.length, ...keys, ...args])
  if (!Array.isArray(reply)) throw new Error('unexpected reply from the rate-limiting script')
  return limits.map((_, i) => Number(reply[i]) / 1000)
}
