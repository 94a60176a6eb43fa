import type { PluginHandler } from '../../../../index.ts'

// The proxy runs on a worker thread: the test listens on the same channel from its own thread.
const events = new BroadcastChannel('turnpike-test-phases')
events.unref()

export const handler: PluginHandler = {
  access(ctx) {
    events.postMessage(`access ${ctx.request.path}`)
    ctx.response.setHeader('X-From-Access', 'yes')
    return undefined
  },
  response(ctx) {
    events.postMessage(`response ${ctx.response.status} ${ctx.response.source}`)
  },
  log(ctx) {
    events.postMessage(`log ${ctx.response.status} ${ctx.response.bodyBytes > 0}`)
  },
}
