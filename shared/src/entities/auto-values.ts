/** Values the store generates for `auto` string fields on insert (credential keys and secrets), as Kong does. */
import { randomBytes } from 'node:crypto'

/** 32 random hex characters, the shape of Kong's generated keys and secrets. */
export function randomKey(): string {
  return randomBytes(16).toString('hex')
}
