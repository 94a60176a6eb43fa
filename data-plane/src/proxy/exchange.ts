/**
 * One proxied request: an undici dispatch handler sending the client's body up and the upstream's response down,
 * with backpressure both ways (undici pulls the request body on demand; the response pauses while the client
 * socket is full). The body is read whole first when the route buffers requests (and it fits), which makes
 * retries possible: connection failures are retried up to the service's `retries` when nothing can have been
 * processed upstream, resets only for idempotent methods. A client that goes away aborts the upstream request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@turnpike/shared'
import type { Dispatcher } from 'undici'
import type { Upstream } from '../runtime/compiled-config.ts'
import { prepareResponseHeaders } from './headers.ts'
import { DEFAULT_ENV, type ProxyEnv } from './proxy-env.ts'
import { bodyTimeout, bufferBody, StreamedBody } from './request-body.ts'
import { requestIdOf } from './request-info.ts'
import {
  BODY_TIMEOUT,
  BODY_TOO_LARGE,
  classifyUpstreamError,
  MESSAGES,
  sendMessage,
  WRITE_TIMEOUT,
} from './responses.ts'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/** With response buffering on, the upstream is read ahead of a slow client up to this many bytes (nginx proxy_buffers). */
const RESPONSE_BUFFER_LIMIT = 1024 * 1024

/** Dispatch options plus the route's body handling; undici ignores the extra fields. */
export interface ProxyDispatchOptions extends Dispatcher.DispatchOptions {
  /** Route `request_buffering` (default true): read the body before calling the upstream. */
  requestBuffering?: boolean
  /** Route `response_buffering` (default true): read the upstream ahead of a slow client. */
  responseBuffering?: boolean
}

/** undici sends async iterables as bodies; its option type does not list them. */
const asBody = (body: Buffer | StreamedBody) => body as unknown as Dispatcher.DispatchOptions['body']

function writeTimeoutError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('upstream stopped taking the request body (write_timeout)')
  err.code = WRITE_TIMEOUT
  return err
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection')
  }
}

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #upstream: Upstream
  readonly #options: ProxyDispatchOptions
  readonly #logger: Logger
  readonly #startedAt: number
  readonly #env: ProxyEnv
  #controller: Dispatcher.DispatchController | null = null
  #tries = 0
  #dispatchedAt = 0
  #clientGone = false
  #responding = false
  /** Watches a streamed body: the client must keep sending (client_body_timeout), the upstream keep taking (write_timeout). */
  #bodyTimer: NodeJS.Timeout | null = null
  #bodyProgressAt = 0

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    options: ProxyDispatchOptions,
    startedAt: number,
    logger: Logger,
    env: ProxyEnv = DEFAULT_ENV,
  ) {
    this.#req = req
    this.#res = res
    this.#upstream = upstream
    this.#options = options
    this.#startedAt = startedAt
    this.#logger = logger
    this.#env = env
  }

  start(): void {
    this.#res.once('close', this.#onClientClose)
    const options = this.#options
    if (options.body !== this.#req) {
      this.#dispatch()
      return
    }
    if (options.requestBuffering === false) {
      options.body = asBody(new StreamedBody(this.#req, this.#env.maxBodySize))
      this.#dispatch()
      return
    }
    bufferBody(this.#req, this.#env, (result) => {
      if (result.ok) {
        options.body = asBody(result.body)
        this.#dispatch()
      } else if (result.error) this.#rejectBody(result.error)
    })
  }

  #rejectBody(err: NodeJS.ErrnoException): void {
    const tooLarge = err.code === BODY_TOO_LARGE
    // The rest of the body is not wanted: close the connection rather than read it.
    this.#res.shouldKeepAlive = false
    sendMessage(
      this.#res,
      tooLarge ? 413 : 408,
      tooLarge ? MESSAGES.payloadTooLarge : MESSAGES.requestTimeout,
      this.#startedAt,
      undefined,
      { Connection: 'close' },
    )
  }

  #dispatch(): void {
    this.#tries++
    this.#controller = null
    this.#dispatchedAt = performance.now()
    if ((this.#options.body as unknown) instanceof StreamedBody && this.#bodyTimer === null) {
      this.#bodyProgressAt = this.#dispatchedAt
      const every = Math.min(this.#env.bodyTimeout || Number.POSITIVE_INFINITY, this.#upstream.target.writeTimeout)
      this.#bodyTimer = setInterval(this.#checkBody, Math.max(10, every / 4))
    }
    this.#upstream.pool.dispatch(this.#options, this)
  }

  /** undici calls this per chunk written upstream. */
  onBodySent(): void {
    this.#bodyProgressAt = performance.now()
  }

  onRequestSent(): void {
    this.#stopBodyTimer()
  }

  #stopBodyTimer(): void {
    if (this.#bodyTimer !== null) clearInterval(this.#bodyTimer)
    this.#bodyTimer = null
  }

  readonly #checkBody = (): void => {
    const body = this.#options.body as unknown
    if (!(body instanceof StreamedBody)) {
      this.#stopBodyTimer()
      return
    }
    const idle = performance.now() - this.#bodyProgressAt
    const clientStalled = body.waitingForClient && this.#env.bodyTimeout > 0 && idle > this.#env.bodyTimeout
    const upstreamStalled = !body.waitingForClient && idle > this.#upstream.target.writeTimeout
    if (!clientStalled && !upstreamStalled) return
    this.#stopBodyTimer()
    this.#controller?.abort(clientStalled ? bodyTimeout() : writeTimeoutError())
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
        this.#env.headers,
        requestIdOf(this.#res),
        statusCode,
      ),
    )
    // Set only once writeHead succeeded: if it throws, undici reports the error and the client still gets a 502.
    this.#responding = true
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.#res
    if (
      !res.write(chunk) &&
      (this.#options.responseBuffering === false || res.writableLength > RESPONSE_BUFFER_LIMIT) &&
      !controller.paused
    ) {
      controller.pause()
      res.once('drain', this.#resume)
    }
  }

  onResponseEnd(): void {
    this.#stopBodyTimer()
    this.#res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.#stopBodyTimer()
    if (this.#clientGone || this.#res.destroyed) return
    const code = (err as NodeJS.ErrnoException).code
    if (!this.#responding && (code === BODY_TOO_LARGE || code === BODY_TIMEOUT)) {
      this.#rejectBody(err as NodeJS.ErrnoException)
      return
    }
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

  /**
   * Retry only what cannot have reached the upstream application (a refused or timed-out connect), or a dropped
   * connection for idempotent methods; a streamed body is gone once sent, so only none or a buffered one retries.
   */
  #retryable(failure: { connectFailure: boolean; connectionReset: boolean }): boolean {
    const body = this.#options.body
    if (body != null && !Buffer.isBuffer(body)) return false
    return failure.connectFailure || (failure.connectionReset && IDEMPOTENT.has(this.#options.method))
  }

  readonly #onClientClose = (): void => {
    this.#stopBodyTimer()
    if (this.#res.writableFinished) return
    this.#clientGone = true
    this.#controller?.abort(new ClientGoneError())
  }

  readonly #resume = (): void => {
    this.#controller?.resume()
  }
}
