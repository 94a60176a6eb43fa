/** JWT decoding and signature checks on node:crypto: HS*, RS*, PS*, ES* (raw r‖s signatures) and EdDSA. */
import { constants, createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto'

export interface DecodedJwt {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  /** `base64url(header).base64url(claims)`: what was signed. */
  signingInput: string
  signature: Buffer
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' }
export const SUPPORTED_ALGS: ReadonlySet<string> = new Set([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
])

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Decodes without verifying; the error strings are Kong's (shown as "Bad token; <error>"). */
export function decodeJwt(token: string): DecodedJwt | { error: string } {
  const parts = token.split('.')
  if (parts.length !== 3) return { error: 'invalid JWT' }
  const header = decodeJson(parts[0])
  if (!header) return { error: 'invalid JSON' }
  if (header.typ !== undefined && String(header.typ).toUpperCase() !== 'JWT') return { error: 'invalid typ' }
  if (typeof header.alg !== 'string' || !SUPPORTED_ALGS.has(header.alg)) return { error: 'invalid alg' }
  const claims = decodeJson(parts[1])
  if (!claims) return { error: 'invalid JSON' }
  return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') }
}

/**
 * Verifies the signature with `key`: a secret KeyObject for HS* (node hashes a raw Buffer key several times
 * slower than a KeyObject made once with createSecretKey), a public KeyObject otherwise.
 */
export function verifySignature(jwt: DecodedJwt, alg: string, key: KeyObject): boolean {
  const data = jwt.signingInput
  try {
    if (alg.startsWith('HS')) {
      if (key.type !== 'secret') return false
      const expected = createHmac(HASHES[alg.slice(2)], key).update(data).digest()
      return expected.length === jwt.signature.length && timingSafeEqual(expected, jwt.signature)
    }
    if (key.type !== 'public') return false
    if (alg === 'EdDSA') return verify(null, Buffer.from(data), key, jwt.signature)
    const hash = HASHES[alg.slice(2)]
    if (alg.startsWith('RS')) return verify(hash, Buffer.from(data), key, jwt.signature)
    if (alg.startsWith('PS'))
      return verify(
        hash,
        Buffer.from(data),
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        jwt.signature,
      )
    if (alg.startsWith('ES')) return verify(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, jwt.signature)
  } catch {
    return false
  }
  return false
}

type ClaimErrors = Record<string, string | string[]>

function addError(errors: ClaimErrors | undefined, claim: string, message: string): ClaimErrors {
  const out = errors ?? {}
  const prev = out[claim]
  out[claim] = prev === undefined ? message : [...(Array.isArray(prev) ? prev : [prev]), message]
  return out
}

/** Kong's registered-claims check: `{exp: "token expired"}` and friends, or undefined when fine. */
export function verifyClaims(
  claims: Record<string, unknown>,
  toVerify: readonly string[],
  nowSec: number,
): ClaimErrors | undefined {
  let errors: ClaimErrors | undefined
  for (const name of toVerify) {
    const v = claims[name]
    if (typeof v !== 'number') errors = addError(errors, name, 'must be a number')
    else if (name === 'exp' && v <= nowSec) errors = addError(errors, name, 'token expired')
    else if (name === 'nbf' && v > nowSec) errors = addError(errors, name, 'token not valid yet')
  }
  return errors
}

/** Kong's `maximum_expiration`: a token may not live longer than `max` seconds from now. */
export function exceedsMaximumExpiration(claims: Record<string, unknown>, max: number, nowSec: number): boolean {
  if (max <= 0) return false
  const exp = claims.exp
  return typeof exp !== 'number' || exp - nowSec > max
}
