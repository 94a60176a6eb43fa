/**
 * Request ids: 32 hex characters like Kong's, made of a random per-process prefix and a counter, so minting one
 * per request costs a string concatenation instead of a random UUID. Unique per process and across processes
 * (64 random bits); not secret, and not meant to be.
 */
import { randomBytes } from 'node:crypto'

let prefix = randomBytes(8).toString('hex')
let counter = 0

/** A fresh request id. */
export function nextRequestId(): string {
  counter++
  if (counter > 0xffffffffffff) {
    // 2^48 ids later: start a new random prefix rather than wrap.
    prefix = randomBytes(8).toString('hex')
    counter = 1
  }
  const n = counter.toString(16)
  return prefix + ZEROS.slice(n.length) + n
}

const ZEROS = '0000000000000000'
