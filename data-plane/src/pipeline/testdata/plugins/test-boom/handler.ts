import type { PluginHandler } from '../../../../index.ts'

export const handler: PluginHandler<{ when: string }> = {
  access(ctx, conf) {
    if (conf.when === 'async') return Promise.reject(new Error('async boom'))
    if (ctx.request.header('x-boom')) throw new Error('boom')
    return undefined
  },
}
