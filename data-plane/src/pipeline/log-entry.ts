/** Kong's basic log serializer: the JSON entry http-log and file-log ship for each request. */
import type { PluginContext } from './types.ts'

const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization'])

function requestHeaders(ctx: PluginContext): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  for (const [k, v] of Object.entries(ctx.request.headers)) out[k] = REDACTED_HEADERS.has(k) ? 'REDACTED' : v
  return out
}

export function logEntry(ctx: PluginContext): Record<string, unknown> {
  const req = ctx.request
  const res = ctx.response
  const uri = req.rawQuery === '' ? req.path : `${req.path}?${req.rawQuery}`
  const l = res.latencies
  const upstream = ctx.upstream
  return {
    request: {
      uri,
      url: `${req.scheme}://${req.host}:${req.port}${uri}`,
      querystring: req.query,
      method: req.method,
      headers: requestHeaders(ctx),
      size: req.contentLength ?? req.body?.length ?? 0,
      id: ctx.requestId,
    },
    upstream_uri: upstream.rawQuery === '' ? upstream.path : `${upstream.path}?${upstream.rawQuery}`,
    response: { status: res.status, headers: res.source ? { ...(res.headers ?? {}) } : {}, size: res.bodyBytes },
    latencies: {
      request: Math.round(l.total),
      kong: Math.round(res.source === 'upstream' ? l.total - l.upstream : l.total),
      proxy: res.source === 'upstream' ? Math.round(l.upstream) : -1,
      receive: 0,
    },
    route: ctx.route ?? undefined,
    service: ctx.service ?? undefined,
    consumer: ctx.consumer ?? undefined,
    authenticated_entity: ctx.credential ? { id: ctx.credential.id } : undefined,
    client_ip: req.clientIp,
    started_at: Math.round(ctx.startedAtEpoch),
    source: res.source === 'upstream' ? 'upstream' : 'kong',
    workspace_name: 'default',
  }
}
