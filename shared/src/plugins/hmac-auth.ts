import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

export const hmacAlgorithms = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const

export type HmacAlgorithm = (typeof hmacAlgorithms)[number]

/** hmac-auth's validated config. */
export interface HmacAuthConfig {
  hide_credentials: boolean
  clock_skew: number
  anonymous: string | null
  validate_request_body: boolean
  enforce_headers: string[]
  algorithms: HmacAlgorithm[]
  realm: string | null
}

/** hmac-auth: authenticates a consumer by an HMAC signature over request headers (and optionally the body). */
export const hmacAuth = definePlugin({
  name: 'hmac-auth',
  priority: 1030,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    hide_credentials: flag(false),
    // Seconds the Date header may differ from the gateway clock, against replays.
    clock_skew: { type: 'number', default: 300, gt: 0 },
    anonymous: { type: 'string' },
    validate_request_body: flag(false),
    enforce_headers: { type: 'array', default: [], elements: { type: 'string' } },
    algorithms: {
      type: 'array',
      default: [...hmacAlgorithms],
      elements: { type: 'string', one_of: hmacAlgorithms },
    },
    realm: { type: 'string' },
  },
})
