/**
 * request-termination: answers with a fixed status and message (or body and content type) without proxying;
 * `echo` sends back what was received; with `trigger`, only requests carrying that header or query argument.
 */
import { hostname } from 'node:os'
import type { RequestTerminationConfig } from '@turnpike/shared'
import { defineHandler } from '../../pipeline/types.ts'

/** Kong's request-termination defaults, where they differ from the general ones. */
const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
}

/** The node id echo reports: set by the data plane at start. */
let nodeId = ''
export function setEchoNodeId(id: string): void {
  nodeId = id
}

export const requestTerminationHandler = defineHandler<RequestTerminationConfig>({
  access(ctx, conf) {
    const trigger = conf.trigger?.toLowerCase()
    if (trigger !== undefined && ctx.request.header(trigger) === undefined) {
      const q = ctx.request.rawQuery === '' ? undefined : ctx.request.query
      if (q?.[conf.trigger!] === undefined) return undefined
    }
    const status = conf.status_code
    if (conf.echo)
      return ctx.request.readBody().then((raw) =>
        ctx.exit(status, {
          message: conf.message ?? DEFAULT_MESSAGES[status],
          kong: { node_id: nodeId, worker_pid: process.pid, hostname: hostname() },
          request: {
            scheme: ctx.request.scheme,
            host: ctx.request.host,
            port: ctx.request.port,
            headers: ctx.request.headers,
            query: ctx.request.query,
            raw_body: raw.toString('utf8'),
            method: ctx.request.method,
            path: ctx.request.path,
          },
          matched_route: ctx.route ?? null,
          matched_service: ctx.service ?? null,
        }),
      )
    if (conf.body !== null)
      return ctx.exit(status, conf.body, conf.content_type ? { 'Content-Type': conf.content_type } : {})
    return ctx.error(status, conf.message ?? DEFAULT_MESSAGES[status])
  },
})
