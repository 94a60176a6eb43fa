/**
 * Passwords at rest (design §7): scrypt, stored as `scrypt:<N>:<r>:<p>:<salt base64>:<hash base64>`.
 * Both functions run scrypt on libuv's thread pool, so the event loop is not blocked (~50 ms per call).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_LENGTH = 32
const SALT_LENGTH = 16
const B64 = '[A-Za-z0-9+/]+={0,2}'
const HASHED = new RegExp(`^scrypt:(\\d+):(\\d+):(\\d+):(${B64}):(${B64})$`)
// Caps for imported hashes, so a crafted cost cannot exhaust memory or CPU.
const MAX_N = 2 ** 20
const MAX_R = 32
const MAX_P = 16

function derive(password: string, salt: Buffer, n: number, r: number, p: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** Parses a stored hash; undefined when it is not one (or its parameters are out of bounds). */
function parse(stored: string): { n: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const m = HASHED.exec(stored)
  if (!m) return undefined
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (n < 2 || n > MAX_N || (n & (n - 1)) !== 0 || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return undefined
  const salt = Buffer.from(m[4] ?? '', 'base64')
  const hash = Buffer.from(m[5] ?? '', 'base64')
  return salt.length && hash.length >= 16 ? { n, r, p, salt, hash } : undefined
}

/** Whether `v` is already a stored password hash (a pre-hashed import is kept as is). */
export function isHashedPassword(v: unknown): v is string {
  return typeof v === 'string' && parse(v) !== undefined
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const hash = await derive(password, salt, N, R, P, KEY_LENGTH)
  return `scrypt:${N}:${R}:${P}:${salt.toString('base64')}:${hash.toString('base64')}`
}

/** Whether `password` matches `stored` (compared in constant time); false for anything not a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (!parsed) return false
  const hash = await derive(password, parsed.salt, parsed.n, parsed.r, parsed.p, parsed.hash.length)
  return timingSafeEqual(hash, parsed.hash)
}
