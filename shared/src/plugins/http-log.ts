import { headerNameError, luaCode, url, urlParts } from '../entities/typedefs.ts'
import { ANY_PROTOCOL, type LogQueueConfig, queueField } from './common-fields.ts'
import { definePlugin } from './define.ts'

// Headers the plugin sets itself.
const RESERVED: Record<string, string> = {
  host: "cannot contain 'Host' header",
  'content-length': "cannot contain 'Content-Length' header",
  'content-type': "cannot contain 'Content-Type' header",
}

/** http-log's validated config (queue and timeouts as Kong: seconds for the queue, milliseconds for HTTP). */
export interface HttpLogConfig {
  http_endpoint: string
  method: 'POST' | 'PUT' | 'PATCH'
  content_type: string
  timeout: number
  keepalive: number
  retry_count: number | null
  queue_size: number | null
  flush_timeout: number | null
  headers: Record<string, string> | null
  queue: LogQueueConfig
  custom_fields_by_lua: Record<string, string> | null
}

/** http-log: sends each request's log entry as JSON to an HTTP endpoint, in batches. */
export const httpLog = definePlugin({
  name: 'http-log',
  priority: 12,
  phases: ['log'],
  protocols: ANY_PROTOCOL,
  config: {
    http_endpoint: { ...url, required: true },
    method: { type: 'string', default: 'POST', one_of: ['POST', 'PUT', 'PATCH'] },
    content_type: {
      type: 'string',
      default: 'application/json',
      one_of: ['application/json', 'application/json; charset=utf-8'],
    },
    // Milliseconds.
    timeout: { type: 'number', default: 10000 },
    keepalive: { type: 'number', default: 60000 },
    // Deprecated in Kong in favour of `queue`; accepted without effect.
    retry_count: { type: 'integer' },
    queue_size: { type: 'integer' },
    flush_timeout: { type: 'number' },
    headers: {
      type: 'map',
      keys: { type: 'string', custom: (k) => RESERVED[(k as string).toLowerCase()] ?? headerNameError(k as string) },
      values: { type: 'string' },
    },
    queue: queueField,
    custom_fields_by_lua: luaCode,
  },
  config_check: (c) => {
    const headers = c.headers as Record<string, unknown> | null
    if (urlParts(c.http_endpoint as string).userinfo === undefined || !headers) return undefined
    return Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')
      ? "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"
      : undefined
  },
})
