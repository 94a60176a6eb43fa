/**
 * One HTTP/2 session per gRPC upstream (h2c for grpc, h2 over TLS for grpcs), opened on first use and again after
 * it closes or receives GOAWAY; every call is a stream on it. Streams opened while it connects wait in nghttp2.
 */
import { type ClientHttp2Session, connect, constants } from 'node:http2'
import type { Logger } from '@turnpike/shared'
import { connectOptions, type Peer } from './peer.ts'

export class H2Origin {
  readonly #peer: Peer
  readonly #logger: Logger
  #session: ClientHttp2Session | null = null
  #closed = false

  constructor(peer: Peer, logger: Logger) {
    this.#peer = peer
    this.#logger = logger
  }

  /** The live session, connecting a new one when there is none. */
  session(): ClientHttp2Session {
    const current = this.#session
    if (current && !current.closed && !current.destroyed) return current
    if (this.#closed) throw new Error('upstream HTTP/2 origin closed')
    const peer = this.#peer
    const session = connect(peer.origin, connectOptions(peer))
    this.#session = session
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`connect timeout after ${peer.settings.connectTimeout} ms`)
      err.code = 'UND_ERR_CONNECT_TIMEOUT'
      session.destroy(err)
    }, peer.settings.connectTimeout)
    timer.unref()
    const forget = () => {
      clearTimeout(timer)
      if (this.#session === session) this.#session = null
    }
    session.once('connect', () => clearTimeout(timer))
    session.once('goaway', forget)
    session.once('close', forget)
    // Stream-level handlers report the failure to each call; this keeps the session error from being unhandled.
    session.on('error', (err) => {
      forget()
      this.#logger.debug({ err, origin: peer.origin }, 'upstream HTTP/2 session failed')
    })
    // An idle session must not hold the process open.
    session.unref()
    return session
  }

  /** Lets in-flight streams finish, then closes. */
  close(): Promise<void> {
    this.#closed = true
    const session = this.#session
    this.#session = null
    if (!session || session.closed) return Promise.resolve()
    return new Promise((resolve) => session.close(resolve))
  }

  destroy(): void {
    this.#closed = true
    this.#session?.destroy(undefined, constants.NGHTTP2_CANCEL)
    this.#session = null
  }
}
