/**
 * bot-detection: 403 for User-Agents matching `deny` or a built-in list of crawlers and scripted clients, unless
 * they match `allow`. Verdicts are cached per User-Agent (bounded), so the regexes run once per distinct agent.
 */
import type { BotDetectionConfig } from '@turnpike/shared'
import { Lru } from '../../pipeline/lru.ts'
import { defineHandler } from '../../pipeline/types.ts'
import { BOT_PATTERNS } from './rules.ts'

const CACHE_SIZE = 1000
type Verdict = 'allow' | 'deny' | 'pass'

interface Compiled {
  allow: RegExp[]
  deny: RegExp[]
  cache: Lru<string, Verdict>
}

const bots = BOT_PATTERNS.map((p) => new RegExp(p))

function judge(c: Compiled, ua: string): Verdict {
  if (c.allow.some((r) => r.test(ua))) return 'allow'
  if (c.deny.some((r) => r.test(ua))) return 'deny'
  return bots.some((r) => r.test(ua)) ? 'deny' : 'pass'
}

export const botDetectionHandler = defineHandler<BotDetectionConfig, Compiled>({
  compile(conf) {
    return {
      allow: conf.allow.map((p) => new RegExp(p, 'u')),
      deny: conf.deny.map((p) => new RegExp(p, 'u')),
      cache: new Lru(CACHE_SIZE),
    }
  },
  access(ctx, c) {
    const ua = ctx.request.header('user-agent')
    if (ua === undefined) return undefined
    // node keeps the first of repeated User-Agent headers; the distinct view (HTTP/1 only) shows the others.
    if ((ctx.request.raw.headersDistinct?.['user-agent']?.length ?? 1) > 1)
      return ctx.error(400, 'Only one User-Agent header allowed')
    let verdict = c.cache.get(ua)
    if (verdict === undefined) {
      verdict = judge(c, ua)
      c.cache.set(ua, verdict)
    }
    return verdict === 'deny' ? ctx.error(403) : undefined
  },
})
