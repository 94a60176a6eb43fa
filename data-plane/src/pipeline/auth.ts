/** What Kong's auth plugins share: the anonymous fallback ("any of them" between auth plugins) and the challenge. */
import type { PluginContext, PluginResponse } from './types.ts'

/** Realm named in WWW-Authenticate challenges when a plugin's `realm` is unset. */
export const DEFAULT_REALM = 'turnpike'

/** `<scheme> realm="<realm>"`, e.g. `Key realm="turnpike"`. */
export function challenge(scheme: string, realm: string | null): string {
  return `${scheme} realm="${realm ?? DEFAULT_REALM}"`
}

/**
 * With `anonymous` set, an earlier auth plugin that already authenticated a credential makes this one a no-op:
 * auth plugins with anonymous form a logical OR.
 */
export function alreadyAuthenticated(ctx: PluginContext, anonymous: string | null): boolean {
  return anonymous !== null && ctx.credential !== undefined
}

/**
 * After a failed authentication: the anonymous consumer when one is configured (the request goes on), else the
 * failure response. An anonymous consumer that does not exist is a configuration error (500, as Kong).
 */
export function anonymousOr(
  ctx: PluginContext,
  anonymous: string | null,
  failure: PluginResponse,
): PluginResponse | undefined {
  if (anonymous === null) return failure
  const consumer = ctx.consumers.byIdOrUsername(anonymous)
  if (!consumer) {
    const message = `anonymous consumer ${anonymous} is configured but doesn't exist`
    ctx.log.error(message)
    return ctx.error(500, message)
  }
  ctx.authenticate(consumer, undefined)
  return undefined
}

/** Timing-safe enough string comparison for secrets of equal length (avoids early exit on the first byte). */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
