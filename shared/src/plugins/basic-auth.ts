import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** basic-auth: authenticates a consumer by HTTP Basic credentials. */
/** basic-auth's validated config. */
export interface BasicAuthConfig {
  anonymous: string | null
  hide_credentials: boolean
  realm: string
}

export const basicAuth = definePlugin({
  name: 'basic-auth',
  priority: 1100,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    anonymous: { type: 'string' },
    hide_credentials: flag(false),
    realm: { type: 'string', required: true, default: 'service' },
  },
})
