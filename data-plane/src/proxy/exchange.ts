/**
 * One proxied HTTP request: an undici dispatch handler sending the client's body up and the upstream's response
 * down, with backpressure both ways (undici pulls the request body on demand; the response pauses while the client
 * socket is full). The body is read whole first when the route buffers requests (and it fits), which makes
 * retries possible: connection failures are retried up to the service's `retries` — on the next member when the
 * service balances — when nothing can have been processed upstream, resets only for idempotent methods. A client
 * that goes away aborts the upstream request. Plugins take part through response hooks, not subclasses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { ServiceSettings } from '../backend/peer.ts'
import { MESSAGES } from '../http/messages.ts'
import { sendMessage } from '../http/respond.ts'
import type { ResponseHooks, UpstreamHeaders } from '../pipeline/response-hooks.ts'
import type { Tries, Try } from './dispatch.ts'
import { prepareResponseHeaders } from './headers.ts'
import type { ProxyEnv } from './proxy-env.ts'
import { bodyTimeout, bufferBody, StreamedBody } from './request-body.ts'
import type { RequestScope } from './request-scope.ts'
import type { Forward } from './route-request.ts'
import { BODY_TIMEOUT, BODY_TOO_LARGE, classifyUpstreamError, WRITE_TIMEOUT } from './upstream-errors.ts'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/** Past this many bytes a body a hook asked to buffer is passed on untransformed (and the failure logged). */
const MAX_BUFFERED_BODY = 32 * 1024 * 1024

/** nginx's status for a request the client abandoned: neither a success nor a failure to the health checks. */
const CLIENT_CLOSED = 499

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
  readonly #scope: RequestScope
  readonly #settings: ServiceSettings
  readonly #options: ProxyDispatchOptions
  readonly #env: ProxyEnv
  readonly #tries: Tries
  readonly #hooks: ResponseHooks | null
  #controller: Dispatcher.DispatchController | null = null
  #try: Try | null = null
  #dispatchedAt = 0
  #clientGone = false
  #responding = false
  /** A hook failed and answered the client: the abort that follows is not an upstream error. */
  #hookFailed = false
  /** The upstream's answer ended and was handed to the client whole. */
  #finished = false
  #buffered: {
    controller: Dispatcher.DispatchController
    status: number
    headers: UpstreamHeaders
    chunks: Buffer[]
    size: number
  } | null = null
  /** Watches a streamed body: the client must keep sending (client_body_timeout), the upstream keep taking (write_timeout). */
  #bodyTimer: NodeJS.Timeout | null = null
  #bodyProgressAt = 0

  constructor(scope: RequestScope, forward: Forward, tries: Tries, hooks: ResponseHooks | null) {
    this.#scope = scope
    this.#req = scope.req
    this.#res = scope.res!
    this.#settings = forward.backend.settings
    this.#options = forward.options
    this.#env = scope.env
    this.#tries = tries
    this.#hooks = hooks
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
      this.#scope.startedAt,
      undefined,
      { Connection: 'close' },
    )
  }

  #dispatch(): void {
    this.#controller = null
    const t = this.#tries.next()
    if (t === undefined) {
      this.#env.logger.warn({ service: this.#settings.serviceId }, 'no upstream target available')
      sendMessage(this.#res, 503, MESSAGES.noPeer, this.#scope.startedAt)
      return
    }
    this.#try = t
    if (t.connection.peer.forbidden) {
      this.#env.logger.warn(
        { service: this.#settings.serviceId, address: t.connection.peer.host },
        'refusing to proxy to a link-local or metadata address; set upstream_allow_link_local=on to allow it',
      )
      this.#endTry(CLIENT_CLOSED)
      sendMessage(this.#res, 502, MESSAGES.badGateway, this.#scope.startedAt)
      return
    }
    this.#dispatchedAt = t.startedAt
    if ((this.#options.body as unknown) instanceof StreamedBody && this.#bodyTimer === null) {
      this.#bodyProgressAt = this.#dispatchedAt
      const every = Math.min(this.#env.bodyTimeout || Number.POSITIVE_INFINITY, this.#settings.writeTimeout)
      this.#bodyTimer = setInterval(this.#checkBody, Math.max(10, every / 4))
    }
    t.connection.pool.dispatch(this.#options, this)
  }

  /** Reports the current try's outcome to the balancer, once. */
  #endTry(result: number | Error): void {
    const t = this.#try
    if (t === null) return
    this.#try = null
    this.#tries.end(t, result)
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
    const upstreamStalled = !body.waitingForClient && idle > this.#settings.writeTimeout
    if (!clientStalled && !upstreamStalled) return
    this.#stopBodyTimer()
    this.#controller?.abort(clientStalled ? bodyTimeout() : writeTimeoutError())
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#clientGone) controller.abort(new ClientGoneError())
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: UpstreamHeaders): void {
    if (this.#clientGone) {
      controller.abort(new ClientGoneError())
      return
    }
    this.#endTry(statusCode)
    const cookie = this.#tries.setCookie
    if (cookie !== undefined) {
      const prior = headers['set-cookie']
      headers['set-cookie'] = prior === undefined ? [cookie] : [...(Array.isArray(prior) ? prior : [prior]), cookie]
    }
    let status = statusCode
    const hooks = this.#hooks
    if (hooks !== null) {
      try {
        status = hooks.head(statusCode, headers)
      } catch (err) {
        this.#failHook(controller, err)
        return
      }
      if (hooks.buffering) {
        delete headers['content-length']
        this.#buffered = { controller, status, headers, chunks: [], size: 0 }
        return
      }
    }
    this.#writeHead(status, headers, statusCode)
  }

  #writeHead(status: number, headers: UpstreamHeaders, upstreamStatus: number): void {
    const now = performance.now()
    this.#res.writeHead(
      status,
      prepareResponseHeaders(
        headers,
        this.#req.httpVersion,
        now - this.#dispatchedAt,
        this.#dispatchedAt - this.#scope.startedAt,
        this.#env.headers,
        this.#scope.requestId,
        upstreamStatus,
      ),
    )
    // Set only once writeHead succeeded: if it throws, undici reports the error and the client still gets a 502.
    this.#responding = true
  }

  #failHook(controller: Dispatcher.DispatchController, err: unknown): void {
    this.#hookFailed = true
    this.#hooks!.failed(err)
    controller.abort(err instanceof Error ? err : new Error(String(err)))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const b = this.#buffered
    if (b !== null) {
      if (b.size + chunk.length <= MAX_BUFFERED_BODY) {
        b.chunks.push(chunk)
        b.size += chunk.length
        return
      }
      this.#giveUpBuffering()
    }
    this.#hooks?.sent(chunk.length)
    this.#write(controller, chunk)
  }

  #write(controller: Dispatcher.DispatchController, chunk: Buffer): void {
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

  /** Too big to transform: send what is buffered as is and stream the rest. */
  #giveUpBuffering(): void {
    const b = this.#buffered!
    this.#buffered = null
    this.#env.logger.warn({ bytes: b.size }, 'response body too large to transform; passed through unchanged')
    this.#writeHead(b.status, b.headers, b.status)
    for (const c of b.chunks) {
      this.#hooks!.sent(c.length)
      this.#write(b.controller, c)
    }
  }

  onResponseEnd(): void {
    this.#stopBodyTimer()
    this.#finished = true
    const b = this.#buffered
    if (b === null) {
      this.#res.end()
      return
    }
    this.#buffered = null
    let body: Buffer
    try {
      body = this.#hooks!.body(b.chunks.length === 1 ? b.chunks[0]! : Buffer.concat(b.chunks, b.size))
    } catch (err) {
      this.#hookFailed = true
      this.#hooks!.failed(err)
      return
    }
    b.headers['content-length'] = String(body.length)
    this.#writeHead(b.status, b.headers, b.status)
    this.#hooks!.sent(body.length)
    this.#res.end(body.length ? body : undefined)
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.#stopBodyTimer()
    if (this.#hookFailed) return
    if (this.#clientGone || this.#res.destroyed) {
      this.#endTry(CLIENT_CLOSED)
      return
    }
    const code = (err as NodeJS.ErrnoException).code
    if (!this.#responding && (code === BODY_TOO_LARGE || code === BODY_TIMEOUT)) {
      this.#endTry(CLIENT_CLOSED)
      this.#rejectBody(err as NodeJS.ErrnoException)
      return
    }
    this.#endTry(err)
    const logger = this.#env.logger
    if (this.#responding) {
      // Headers are out: the only honest signal left is cutting the client's connection.
      logger.warn({ err, service: this.#settings.serviceId }, 'upstream failed mid-response')
      this.#res.destroy(err)
      return
    }
    const failure = classifyUpstreamError(err)
    if (this.#tries.count <= this.#settings.retries && this.#retryable(failure)) {
      logger.debug({ err, try: this.#tries.count, service: this.#settings.serviceId }, 'retrying upstream')
      this.#dispatch()
      return
    }
    logger.warn(
      {
        err,
        status: failure.status,
        tries: this.#tries.count,
        service: this.#settings.serviceId,
        path: this.#options.path,
      },
      'upstream request failed',
    )
    sendMessage(this.#res, failure.status, failure.message, this.#scope.startedAt)
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
    // Our own record, not res.writableFinished: a reset HTTP/2 stream reports itself finished too.
    if (this.#finished) return
    this.#clientGone = true
    this.#controller?.abort(new ClientGoneError())
  }

  readonly #resume = (): void => {
    this.#controller?.resume()
  }
}
