/**
 * Response hooks: how an exchange lets plugins see (and change) the upstream's answer without knowing them. The
 * exchange calls `head` with the status and headers before they go out; when a hook asks for the body, the
 * exchange collects it and passes it through `body`, else it streams untouched.
 */
import type { Chain } from './chain.ts'
import type { RequestContext } from './context.ts'
import type { ResponseHeaders } from './response-state.ts'
import { runBodyPhase, runResponsePhase } from './run.ts'

export type UpstreamHeaders = Record<string, string | string[] | undefined>

export interface ResponseHooks {
  /** The upstream's status and headers (changed in place): returns the status to send. Throws when a handler fails. */
  head(status: number, headers: UpstreamHeaders): number
  /** After `head`: whether the body is to be collected and given to `body`. */
  readonly buffering: boolean
  /** The whole body, transformed. Throws when a handler fails. */
  body(body: Buffer): Buffer
  /** Body bytes that went to the client. */
  sent(bytes: number): void
  /** A hook threw: the failure is answered here (a 500), the exchange only stops the upstream. */
  failed(err: unknown): void
}

/** The hooks of a route's plugin chain. */
export class PluginResponseHooks implements ResponseHooks {
  readonly #ctx: RequestContext
  readonly #chain: Chain
  readonly #onError: (err: unknown) => void
  buffering = false

  constructor(ctx: RequestContext, chain: Chain, onError: (err: unknown) => void) {
    this.#ctx = ctx
    this.#chain = chain
    this.#onError = onError
  }

  head(status: number, headers: UpstreamHeaders): number {
    const response = this.#ctx.response
    response.headersAt = performance.now()
    response.attach(status, headers as ResponseHeaders, 'upstream')
    if (this.#chain.response) runResponsePhase(this.#ctx, this.#chain)
    this.buffering = response.bufferRequested && this.#chain.body
    return response.status
  }

  body(body: Buffer): Buffer {
    return runBodyPhase(this.#ctx, this.#chain, body)
  }

  sent(bytes: number): void {
    this.#ctx.response.bodyBytes += bytes
  }

  failed(err: unknown): void {
    this.#onError(err)
  }
}
