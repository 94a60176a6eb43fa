/**
 * The Exchange for routes with plugins: response handlers see (and change) the upstream's status headers before
 * they go out; when one asks for the body, it is buffered and passed through the body handlers, else it streams
 * untouched. Retries, backpressure and upstream errors stay the Exchange's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@turnpike/shared'
import type { Dispatcher } from 'undici'
import { Exchange, type ProxyDispatchOptions } from '../proxy/exchange.ts'
import type { ProxyEnv } from '../proxy/proxy-env.ts'
import type { Upstream } from '../runtime/compiled-config.ts'
import type { Chain } from './chain.ts'
import type { RequestContext } from './context.ts'
import type { ResponseHeaders } from './response-state.ts'
import { runBodyPhase, runResponsePhase } from './run.ts'

/** Past this many bytes a buffered body is passed on untransformed (and the failure logged). */
const MAX_BUFFERED_BODY = 32 * 1024 * 1024

type Headers = Record<string, string | string[] | undefined>

export class PluginExchange extends Exchange {
  readonly #ctx: RequestContext
  readonly #chain: Chain
  readonly #onHandlerError: (err: unknown) => void
  #buffering: { controller: Dispatcher.DispatchController; chunks: Buffer[]; size: number } | null = null
  #failed = false

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    options: ProxyDispatchOptions,
    startedAt: number,
    logger: Logger,
    env: ProxyEnv,
    ctx: RequestContext,
    chain: Chain,
    onHandlerError: (err: unknown) => void,
  ) {
    super(req, res, upstream, options, startedAt, logger, env)
    this.#ctx = ctx
    this.#chain = chain
    this.#onHandlerError = onHandlerError
  }

  #fail(controller: Dispatcher.DispatchController, err: unknown): void {
    this.#failed = true
    this.#onHandlerError(err)
    controller.abort(err instanceof Error ? err : new Error(String(err)))
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const response = this.#ctx.response
    response.headersAt = performance.now()
    response.attach(statusCode, headers as ResponseHeaders, 'upstream')
    if (this.#chain.response) {
      try {
        runResponsePhase(this.#ctx, this.#chain)
      } catch (err) {
        this.#fail(controller, err)
        return
      }
    }
    if (response.bufferRequested && this.#chain.body) {
      delete headers['content-length']
      this.#buffering = { controller, chunks: [], size: 0 }
      return
    }
    super.onResponseStart(controller, response.status, headers)
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const b = this.#buffering
    if (b !== null && b.size + chunk.length <= MAX_BUFFERED_BODY) {
      b.chunks.push(chunk)
      b.size += chunk.length
      return
    }
    if (b !== null) this.#giveUpBuffering(controller)
    this.#ctx.response.bodyBytes += chunk.length
    super.onResponseData(controller, chunk)
  }

  /** Too big to transform: send what is buffered as is and stream the rest. */
  #giveUpBuffering(controller: Dispatcher.DispatchController): void {
    const b = this.#buffering!
    this.#buffering = null
    this.#ctx.log.warn({ bytes: b.size }, 'response body too large to transform; passed through unchanged')
    const response = this.#ctx.response
    super.onResponseStart(controller, response.status, response.headers as Headers)
    for (const c of b.chunks) {
      response.bodyBytes += c.length
      super.onResponseData(controller, c)
    }
  }

  override onResponseEnd(): void {
    const b = this.#buffering
    if (b === null) {
      super.onResponseEnd()
      return
    }
    this.#buffering = null
    const response = this.#ctx.response
    let body: Buffer
    try {
      body = runBodyPhase(this.#ctx, this.#chain, b.chunks.length === 1 ? b.chunks[0] : Buffer.concat(b.chunks, b.size))
    } catch (err) {
      this.#failed = true
      this.#onHandlerError(err)
      return
    }
    const headers = response.headers as Headers
    headers['content-length'] = String(body.length)
    super.onResponseStart(b.controller, response.status, headers)
    response.bodyBytes += body.length
    if (body.length) super.onResponseData(b.controller, body)
    super.onResponseEnd()
  }

  override onResponseError(controller: Dispatcher.DispatchController | null, err: Error): void {
    // A handler failure already answered 500; the abort it caused is not an upstream error.
    if (this.#failed) return
    super.onResponseError(controller, err)
  }
}
