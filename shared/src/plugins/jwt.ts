import { conditional } from '../entities/checks.ts'
import { url } from '../entities/typedefs.ts'
import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** jwt's validated config. */
export interface JwtConfig {
  uri_param_names: string[]
  cookie_names: string[]
  key_claim_name: string
  secret_is_base64: boolean
  claims_to_verify: ('exp' | 'nbf')[] | null
  anonymous: string | null
  run_on_preflight: boolean
  maximum_expiration: number
  header_names: string[]
  realm: string | null
  jwks_uri: string | null
  jwks_cache_ttl: number
}

/** jwt: verifies a JWT against the consumer's `jwt_secrets`, or (Turnpike extension) against a JWKS endpoint. */
export const jwt = definePlugin({
  name: 'jwt',
  priority: 1450,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    uri_param_names: { type: 'set', default: ['jwt'], elements: { type: 'string' } },
    cookie_names: { type: 'set', default: [], elements: { type: 'string' } },
    // Claim naming the jwt_secrets `key`; read from the payload, then the header.
    key_claim_name: { type: 'string', default: 'iss' },
    secret_is_base64: flag(false),
    claims_to_verify: { type: 'set', elements: { type: 'string', one_of: ['exp', 'nbf'] } },
    anonymous: { type: 'string' },
    run_on_preflight: flag(true),
    // Longest accepted token lifetime in seconds; 0 means unlimited.
    maximum_expiration: { type: 'number', default: 0, between: [0, 31536000] },
    header_names: { type: 'set', default: ['authorization'], elements: { type: 'string' } },
    realm: { type: 'string' },
    // Turnpike extension: verify signatures with keys fetched from this JWKS URL (matched by `kid`).
    jwks_uri: { ...url, description: 'Turnpike extension: JWKS endpoint to fetch verification keys from.' },
    // Turnpike extension: seconds a fetched key set is reused before refetching.
    jwks_cache_ttl: {
      type: 'number',
      default: 300,
      gt: 0,
      description: 'Turnpike extension: seconds a fetched JWKS is cached.',
    },
  },
  checks: [
    // A lifetime cap needs `exp` to measure against.
    conditional({
      if_field: 'config.maximum_expiration',
      if_match: (v) => typeof v === 'number' && v > 0,
      then_field: 'config.claims_to_verify',
      then_match: (v) => ((v as string[]).includes('exp') ? undefined : 'expected to contain: exp'),
    }),
  ],
  extensions: ['jwks_uri', 'jwks_cache_ttl'],
})
