/**
 * Request bodies on their way upstream. A buffering route (`request_buffering`, Kong's default) reads bodies up to
 * `client_body_buffer_size` whole before the upstream call, so the call can be retried; a bigger body, or any body
 * on a streaming route, flows through a StreamedBody that enforces `client_max_body_size` and tells a stalled
 * client (408) from a stalled upstream (504). Nothing is spooled to disk, unlike nginx.
 */
import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { ProxyEnv } from './proxy-env.ts'
import { BODY_TIMEOUT, BODY_TOO_LARGE } from './upstream-errors.ts'

type ClientRequest = IncomingMessage | Http2ServerRequest

function codedError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message)
  err.code = code
  return err
}

export const bodyTooLarge = () => codedError(BODY_TOO_LARGE, 'request body exceeds client_max_body_size')
export const bodyTimeout = () => codedError(BODY_TIMEOUT, 'client stopped sending the request body')

/** A request body streamed upstream (undici reads it as an async iterable). */
export class StreamedBody implements AsyncIterable<Buffer> {
  /** True while waiting on the client for the next chunk; false while the upstream has a chunk to take. */
  waitingForClient = false
  readonly #req: ClientRequest
  readonly #head: Buffer[]
  readonly #limit: number
  #received: number

  constructor(req: ClientRequest, limit: number, head: Buffer[] = [], received = 0) {
    this.#req = req
    this.#limit = limit
    this.#head = head
    this.#received = received
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (const chunk of this.#head) yield chunk
    this.#head.length = 0
    this.waitingForClient = true
    try {
      for await (const chunk of this.#req as AsyncIterable<Buffer>) {
        this.waitingForClient = false
        this.#received += chunk.length
        if (this.#limit > 0 && this.#received > this.#limit) throw bodyTooLarge()
        yield chunk
        this.waitingForClient = true
      }
    } finally {
      this.waitingForClient = false
    }
  }
}

export type BufferedBody =
  | { ok: true; body: Buffer | StreamedBody }
  | { ok: false; error: NodeJS.ErrnoException | null }

/**
 * Reads the body whole when it fits `client_body_buffer_size`, else hands over a StreamedBody that continues
 * where reading stopped. `done` is called once: with an error for a too-big or stalled body, with `error: null`
 * when the client went away.
 */
export function bufferBody(req: ClientRequest, env: ProxyEnv, done: (result: BufferedBody) => void): void {
  const chunks: Buffer[] = []
  let size = 0
  let finished = false
  const timer =
    env.bodyTimeout > 0 ? setTimeout(() => finish({ ok: false, error: bodyTimeout() }), env.bodyTimeout) : null
  const finish = (result: BufferedBody) => {
    if (finished) return
    finished = true
    if (timer) clearTimeout(timer)
    req.off('data', onData)
    req.off('end', onEnd)
    req.off('error', onGone)
    req.off('close', onClose)
    done(result)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (env.maxBodySize > 0 && size > env.maxBodySize) return finish({ ok: false, error: bodyTooLarge() })
    chunks.push(chunk)
    timer?.refresh()
    if (size > env.bodyBufferSize) {
      req.pause()
      finish({ ok: true, body: new StreamedBody(req, env.maxBodySize, chunks, size) })
    }
  }
  const onEnd = () => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) })
  const onGone = () => finish({ ok: false, error: null })
  const onClose = () => {
    if (!req.complete) onGone()
  }
  req.on('data', onData)
  req.on('end', onEnd)
  req.on('error', onGone)
  req.on('close', onClose)
}
