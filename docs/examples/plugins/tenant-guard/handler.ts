/** tenant-guard's data-plane half: the phases its definition lists, and nothing else. */
import type { PluginHandler } from '@turnpike/data-plane'
import type { TenantGuardConfig } from './definition.ts'

interface Compiled {
  header: string
  headerName: string
  pattern: RegExp
  upstreamHeader: string
  echo: boolean
}

export const handler: PluginHandler<TenantGuardConfig, Compiled> = {
  // Once per snapshot: regexes compiled here, not per request.
  compile(config) {
    return {
      header: config.header_name.toLowerCase(),
      headerName: config.header_name,
      pattern: new RegExp(config.pattern),
      upstreamHeader: config.upstream_header,
      echo: config.echo_downstream,
    }
  },
  access(ctx, c) {
    const tenant = ctx.request.header(c.header)
    if (tenant === undefined) return ctx.error(400, `${c.headerName} header required`)
    if (!c.pattern.test(tenant)) return ctx.error(403, 'unknown tenant')
    ctx.upstream.setHeader(c.upstreamHeader, tenant)
    ctx.plugin.tenant = tenant
    return undefined
  },
  response(ctx, c) {
    const tenant = ctx.plugin.tenant
    if (c.echo && typeof tenant === 'string') ctx.response.setHeader(c.headerName, tenant)
  },
}
