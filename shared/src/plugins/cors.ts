import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

export const corsMethods = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const

function isRegex(s: string): boolean {
  try {
    new RegExp(s, 'u')
    return true
  } catch {
    return false
  }
}

/** cors's validated config. */
export interface CorsConfig {
  origins: string[] | null
  headers: string[] | null
  exposed_headers: string[] | null
  methods: string[]
  max_age: number | null
  credentials: boolean
  private_network: boolean
  preflight_continue: boolean
  allow_origin_absent: boolean
}

/** cors: answers preflight requests and adds CORS headers to responses. */
export const cors = definePlugin({
  name: 'cors',
  priority: 2000,
  phases: ['access', 'response'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    // Plain origins or regexes; `*` allows any.
    origins: {
      type: 'array',
      elements: {
        type: 'string',
        custom: (v) => (v === '*' || isRegex(v as string) ? undefined : `'${v}' is not a valid regex`),
      },
    },
    headers: { type: 'array', elements: { type: 'string' } },
    exposed_headers: { type: 'array', elements: { type: 'string' } },
    methods: { type: 'array', default: [...corsMethods], elements: { type: 'string', one_of: corsMethods } },
    max_age: { type: 'number' },
    credentials: flag(false),
    private_network: flag(false),
    preflight_continue: flag(false),
    // Newer Kong: skip CORS headers when the request has no Origin.
    allow_origin_absent: flag(true),
  },
})
