/**
 * cors: answers preflight requests (OPTIONS with Origin and Access-Control-Request-Method) itself, unless
 * `preflight_continue`, and adds CORS headers to every other response. Origins are exact (`https://a.example`),
 * host-only (`a.example`), `*`, or regexes (anything with characters outside `A-Za-z0-9.:/-`), anchored at the end.
 */
import type { CorsConfig } from '@turnpike/shared'
import { defineHandler, type PluginContext } from '../../pipeline/types.ts'

type OriginRule = { regex: RegExp } | { host: string } | { origin: string }

interface NormalizedOrigin {
  /** scheme://host[:port], the port only when not the scheme's default. */
  origin: string
  host: string
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' }

export function normalizeOrigin(raw: string): NormalizedOrigin {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?([^/:]+|\[[^\]]+\])(?::(\d+))?/.exec(raw.trim())
  if (!m) return { origin: raw.toLowerCase(), host: raw.toLowerCase() }
  const scheme = (m[1] ?? 'http').toLowerCase()
  const host = m[2].toLowerCase()
  const port = m[3] && m[3] !== DEFAULT_PORTS[scheme] ? `:${m[3]}` : ''
  return { origin: `${scheme}://${host}${port}`, host }
}

function compileOrigins(origins: readonly string[]): OriginRule[] {
  return origins.map((entry) => {
    if (/[^A-Za-z0-9.:/-]/.test(entry)) {
      // As Kong: anchored at the end, a leading ^ tolerated.
      const body = entry.startsWith('^') ? entry.slice(1) : entry
      return { regex: new RegExp(`^(?:${body.endsWith('$') ? body.slice(0, -1) : body})$`) }
    }
    return /^https?:\/\//i.test(entry) ? { origin: normalizeOrigin(entry).origin } : { host: entry.toLowerCase() }
  })
}

interface Compiled {
  conf: CorsConfig
  allowAll: boolean
  rules: OriginRule[]
  methods: string
  headers: string | undefined
  exposed: string | undefined
  maxAge: string | undefined
}

function addVary(ctx: PluginContext): void {
  const vary = ctx.response.header('vary')
  if (vary === undefined) ctx.response.setHeader('Vary', 'Origin')
  else if (vary !== '*' && !/(^|,)\s*origin\s*(,|$)/i.test(vary)) ctx.response.setHeader('Vary', `${vary}, Origin`)
}

/** Sets Access-Control-Allow-Origin; true when every origin is allowed (`*`). */
function configureOrigin(ctx: PluginContext, c: Compiled): boolean {
  if (c.allowAll) {
    ctx.response.setHeader('Access-Control-Allow-Origin', '*')
    return true
  }
  addVary(ctx)
  const origin = ctx.request.header('origin')
  if (origin !== undefined) {
    const n = normalizeOrigin(origin)
    for (const rule of c.rules) {
      const ok =
        'regex' in rule ? rule.regex.test(n.origin) : 'host' in rule ? rule.host === n.host : rule.origin === n.origin
      if (ok) {
        ctx.response.setHeader('Access-Control-Allow-Origin', n.origin)
        return false
      }
    }
  }
  ctx.response.clearHeader('Access-Control-Allow-Origin')
  return false
}

function configureCredentials(ctx: PluginContext, c: Compiled, allowAll: boolean): void {
  if (!c.conf.credentials) return
  if (!allowAll) {
    ctx.response.setHeader('Access-Control-Allow-Credentials', 'true')
    return
  }
  // `*` cannot go with credentials: echo the origin instead.
  const origin = ctx.request.header('origin')
  if (origin !== undefined) {
    addVary(ctx)
    ctx.response.setHeader('Access-Control-Allow-Origin', origin)
    ctx.response.setHeader('Access-Control-Allow-Credentials', 'true')
  }
}

export const corsHandler = defineHandler<CorsConfig, Compiled>({
  compile(conf) {
    const origins = conf.origins ?? []
    return {
      conf,
      allowAll: origins.length === 0 || (origins.length === 1 && origins[0] === '*'),
      rules: compileOrigins(origins.filter((o) => o !== '*')),
      methods: conf.methods.join(','),
      headers: conf.headers?.length ? conf.headers.join(',') : undefined,
      exposed: conf.exposed_headers?.length ? conf.exposed_headers.join(',') : undefined,
      maxAge: conf.max_age === null ? undefined : String(conf.max_age),
    }
  },
  access(ctx, c) {
    const req = ctx.request
    if (req.method !== 'OPTIONS' || req.header('origin') === undefined) return undefined
    if (req.header('access-control-request-method') === undefined) return undefined
    // A preflight: the response phase leaves it alone (answered here, or by the upstream).
    ctx.plugin.preflight = true
    if (c.conf.preflight_continue) return undefined
    const allowAll = configureOrigin(ctx, c)
    configureCredentials(ctx, c, allowAll)
    const requested = req.header('access-control-request-headers')
    if (c.headers !== undefined) ctx.response.setHeader('Access-Control-Allow-Headers', c.headers)
    else if (requested !== undefined) ctx.response.setHeader('Access-Control-Allow-Headers', requested)
    ctx.response.setHeader('Access-Control-Allow-Methods', c.methods)
    if (c.maxAge !== undefined) ctx.response.setHeader('Access-Control-Max-Age', c.maxAge)
    if (c.conf.private_network && req.header('access-control-request-private-network') === 'true')
      ctx.response.setHeader('Access-Control-Allow-Private-Network', 'true')
    return ctx.exit(200)
  },
  response(ctx, c) {
    if (ctx.plugin.preflight) return
    if (!c.conf.allow_origin_absent && ctx.request.header('origin') === undefined) return
    const allowAll = configureOrigin(ctx, c)
    configureCredentials(ctx, c, allowAll)
    if (c.exposed !== undefined) ctx.response.setHeader('Access-Control-Expose-Headers', c.exposed)
  },
})
