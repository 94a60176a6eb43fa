import { defineEntity } from '../schema/define.ts'
import { conditional, entityChecks } from './checks.ts'
import { isPublicKeyPem } from './pem.ts'

export const jwtAlgorithms = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const

// Kong's list: ES* are absent, so an ES secret without a key is accepted (and fails at verification).
const NEEDS_PUBLIC_KEY = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'])

/** jwt's `jwt_secrets` (Admin API `/jwts`, nested `/consumers/{c}/jwt`). */
export const jwtSecrets = defineEntity({
  name: 'jwt_secrets',
  admin_path: 'jwts',
  nested_path: 'jwt',
  endpoint_key: 'key',
  in_snapshot: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    // The value matched against the token's `key_claim_name` claim (default `iss`); generated when absent.
    key: { type: 'string', unique: true, auto: true },
    // HMAC secret, generated when absent; kept in clear because verification needs it.
    secret: { type: 'string', auto: true },
    rsa_public_key: { type: 'string' },
    algorithm: { type: 'string', default: 'HS256', one_of: jwtAlgorithms },
  },
  checks: [
    entityChecks(
      conditional({
        if_field: 'algorithm',
        if_match: (v) => NEEDS_PUBLIC_KEY.has(v as string),
        then_field: 'rsa_public_key',
        then_required: true,
        then_match: (v) => (isPublicKeyPem(v as string) ? undefined : 'invalid key'),
      }),
    ),
  ],
})
