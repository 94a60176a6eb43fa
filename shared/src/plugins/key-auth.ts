import { headerName } from '../entities/typedefs.ts'
import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** key-auth: authenticates a consumer by an API key in a header, the query string or the body. */
/** key-auth's validated config (defaults filled; unset optional fields are null). */
export interface KeyAuthConfig {
  key_names: string[]
  hide_credentials: boolean
  anonymous: string | null
  key_in_header: boolean
  key_in_query: boolean
  key_in_body: boolean
  run_on_preflight: boolean
  realm: string | null
}

export const keyAuth = definePlugin({
  name: 'key-auth',
  priority: 1250,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    key_names: { type: 'array', required: true, default: ['apikey'], elements: headerName },
    hide_credentials: flag(false),
    // Consumer id or username used when authentication fails; unset means the request is rejected.
    anonymous: { type: 'string' },
    key_in_header: flag(true),
    key_in_query: flag(true),
    key_in_body: flag(false),
    run_on_preflight: flag(true),
    realm: { type: 'string' },
  },
})
