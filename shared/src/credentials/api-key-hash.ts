/**
 * API keys at rest (design §7): a keyed hash, so a database dump does not leak usable keys and lookups stay a
 * single indexed equality. The key is the cluster's keyring secret (the `keyring` snapshot row); data planes hash
 * a presented key with the same function and look it up among `keyauth_credentials[].key`.
 */
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'hmac-sha256:'
const HASHED = /^hmac-sha256:[A-Za-z0-9_-]{43}$/

/** `hmac-sha256:<base64url of HMAC-SHA256(secret, key)>`; `secret` is used as its UTF-8 bytes. */
export function hashApiKey(secret: string, key: string): string {
  return PREFIX + createHmac('sha256', secret).update(key, 'utf8').digest('base64url')
}

/** Whether `v` is already in the stored form (a pre-hashed import is kept as is). */
export function isHashedApiKey(v: unknown): v is string {
  return typeof v === 'string' && HASHED.test(v)
}

/** A fresh keyring secret: 32 random bytes, base64url. */
export function generateKeyringSecret(): string {
  return randomBytes(32).toString('base64url')
}
