import type { PluginHandler } from '../../../../index.ts'

export const handler: PluginHandler = {
  rewrite(ctx) {
    if (ctx.request.path === '/blocked-before-routing') return ctx.error(451)
    ctx.upstream.setHeader('X-Rewritten', '1')
    return undefined
  },
}
