/**
 * One proxied request: an undici dispatch handler streaming the client's body up and the upstream's response down,
 * with backpressure both ways (undici reads the request stream on demand; the response pauses while the client
 * socket is full). Connection failures are retried up to the service's `retries` when nothing can have been
 * processed upstream; a client that goes away aborts the upstream request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@turnpike/shared'
import type { Dispatcher } from 'undici'
import type { Upstream } from '../runtime/compiled-config.ts'
import { prepareResponseHeaders } from './headers.ts'
import { classifyUpstreamError, sendMessage } from './responses.ts'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection')
  }
}

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #upstream: Upstream
  readonly #options: Dispatcher.DispatchOptions
  readonly #logger: Logger
  readonly #startedAt: number
  #controller: Dispatcher.DispatchController | null = null
  #tries = 0
  #dispatchedAt = 0
  #clientGone = false
  #responding = false

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    options: Dispatcher.DispatchOptions,
    startedAt: number,
    logger: Logger,
  ) {
    this.#req = req
    this.#res = res
    this.#upstream = upstream
    this.#options = options
    this.#startedAt = startedAt
    this.#logger = logger
  }

  start(): void {
    this.#res.once('close', this.#onClientClose)
    this.#dispatch()
  }

  #dispatch(): void {
    this.#tries++
    this.#controller = null
    this.#dispatchedAt = performance.now()
    this.#upstream.pool.dispatch(this.#options, this)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#clientGone) controller.abort(new ClientGoneError())
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#clientGone) {
      controller.abort(new ClientGoneError())
      return
    }
    const now = performance.now()
    this.#res.writeHead(
      statusCode,
      prepareResponseHeaders(
        headers,
        this.#req.httpVersion,
        now - this.#dispatchedAt,
        this.#dispatchedAt - this.#startedAt,
      ),
    )
    // Set only once writeHead succeeded: if it throws, undici reports the error and the client still gets a 502.
    this.#responding = true
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause()
      this.#res.once('drain', this.#resume)
    }
  }

  onResponseEnd(): void {
    this.#res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.#clientGone || this.#res.destroyed) return
    if (this.#responding) {
      // Headers are out: the only honest signal left is cutting the client's connection.
      this.#logger.warn({ err, origin: this.#upstream.target.origin }, 'upstream failed mid-response')
      this.#res.destroy(err)
      return
    }
    const failure = classifyUpstreamError(err)
    if (this.#tries <= this.#upstream.target.retries && this.#retryable(failure)) {
      this.#logger.debug({ err, try: this.#tries, origin: this.#upstream.target.origin }, 'retrying upstream')
      this.#dispatch()
      return
    }
    this.#logger.warn(
      {
        err,
        status: failure.status,
        tries: this.#tries,
        origin: this.#upstream.target.origin,
        path: this.#options.path,
      },
      'upstream request failed',
    )
    sendMessage(this.#res, failure.status, failure.message, this.#startedAt)
  }

  /** Retry only what cannot have reached the upstream application, and never once a request body is being streamed. */
  #retryable(failure: { connectFailure: boolean; connectionReset: boolean }): boolean {
    if (this.#options.body != null) return false
    return failure.connectFailure || (failure.connectionReset && IDEMPOTENT.has(this.#options.method))
  }

  readonly #onClientClose = (): void => {
    if (this.#res.writableFinished) return
    this.#clientGone = true
    this.#controller?.abort(new ClientGoneError())
  }

  readonly #resume = (): void => {
    this.#controller?.resume()
  }
}
