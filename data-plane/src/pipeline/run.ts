/**
 * Runs a chain's phases in priority order. Request phases stay synchronous until a handler returns a promise, so
 * chains of synchronous handlers (key-auth, acl …) allocate no promise at all.
 */
import type { Chain } from './chain.ts'
import type { RequestContext } from './context.ts'
import type { PluginResponse } from './types.ts'

type Result = PluginResponse | undefined

function isPromise(v: unknown): v is Promise<Result> {
  return typeof (v as Promise<Result> | undefined)?.then === 'function'
}

/** Runs `rewrite` or `access` handlers from entry `from`; stops at the first response a handler returns. */
export function runRequestPhase(
  ctx: RequestContext,
  chain: Chain,
  phase: 'rewrite' | 'access',
  from = 0,
): Result | Promise<Result> {
  const entries = chain.entries
  for (let i = from; i < entries.length; i++) {
    const fn = entries[i].handler[phase]
    if (fn === undefined) continue
    const inst = ctx.instanceAt(chain, i)
    if (inst === null) continue
    ctx.enter(chain, i)
    const r = fn(ctx, inst.config)
    if (r === undefined) continue
    if (isPromise(r)) {
      const next = i + 1
      return r.then((v) => (v === undefined ? runRequestPhase(ctx, chain, phase, next) : v))
    }
    return r
  }
  return undefined
}

/** Response-header handlers; a throw propagates (the caller answers 500 while headers are still unsent). */
export function runResponsePhase(ctx: RequestContext, chain: Chain): void {
  const entries = chain.entries
  for (let i = 0; i < entries.length; i++) {
    const fn = entries[i].handler.response
    if (fn === undefined) continue
    const inst = ctx.instanceAt(chain, i)
    if (inst === null) continue
    ctx.enter(chain, i)
    fn(ctx, inst.config)
  }
}

/** Body handlers over a buffered upstream body, in priority order. */
export function runBodyPhase(ctx: RequestContext, chain: Chain, body: Buffer): Buffer {
  const entries = chain.entries
  let out = body
  for (let i = 0; i < entries.length; i++) {
    const fn = entries[i].handler.body
    if (fn === undefined) continue
    const inst = ctx.instanceAt(chain, i)
    if (inst === null) continue
    ctx.enter(chain, i)
    const r = fn(ctx, inst.config, out)
    out = typeof r === 'string' ? Buffer.from(r) : r
  }
  return out
}

/** Log handlers, after the response is sent; one failing handler does not stop the others. */
export function runLogPhase(ctx: RequestContext, chain: Chain): void {
  const entries = chain.entries
  for (let i = 0; i < entries.length; i++) {
    const fn = entries[i].handler.log
    if (fn === undefined) continue
    const inst = ctx.instanceAt(chain, i)
    if (inst === null) continue
    ctx.enter(chain, i)
    try {
      fn(ctx, inst.config)
    } catch (err) {
      entries[i].log.error({ err, request_id: ctx.requestId }, 'plugin log handler failed')
    }
  }
}
