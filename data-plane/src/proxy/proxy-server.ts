/**
 * The proxy listeners (HTTP/1.1, h2c, HTTPS with SNI certificates, HTTP/2 over TLS) lease the live config per
 * request and forward through Exchanges; WebSocket upgrades are relayed; malformed requests get a status code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ListenAddress, Logger, Settings } from '@turnpike/shared'
import { MESSAGES } from '../http/messages.ts'
import { nextRequestId } from '../http/request-id.ts'
import { tagResponse } from '../http/request-info.ts'
import { REQUEST_ID_HEADER, sendMessage } from '../http/respond.ts'
import type { SnapshotApplier } from '../runtime/snapshot-applier.ts'
import { loadDefaultCertificate } from '../tls/default-certificate.ts'
import { handleRequest } from './handle-request.ts'
import { rejectRequest } from './hardening.ts'
import { type Listener, type ListenerHandlers, type ListenerLimits, openListener, type Scheme } from './listeners.ts'
import { DEFAULT_ENV, type ProxyEnv, proxyEnv } from './proxy-env.ts'
import { requestScope } from './request-scope.ts'
import { isUpgrade } from './route-request.ts'
import { answerOnSocket } from './websocket.ts'

export interface ProxyStats {
  total_requests: number
  connections_active: number
}

export class ProxyServer {
  readonly stats: ProxyStats = { total_requests: 0, connections_active: 0 }
  readonly #applier: SnapshotApplier
  readonly #logger: Logger
  readonly #settings: Settings | undefined
  readonly #env: ProxyEnv
  readonly #listeners: Listener[] = []
  /** Client sockets of relayed upgrades (WebSockets): node no longer tracks them. */
  readonly #upgraded = new Set<Duplex>()
  #inFlight = 0
  #closing = false
  #drained: (() => void) | null = null

  /** `settings` supplies limits, header switches, trusted_ips and the default certificate (defaults: Kong's). */
  constructor(applier: SnapshotApplier, logger: Logger, settings?: Settings) {
    this.#applier = applier
    this.#logger = logger.child({ component: 'proxy' })
    this.#settings = settings
    this.#env = settings ? proxyEnv(settings, this.#logger) : { ...DEFAULT_ENV, logger: this.#logger }
  }

  /** Starts one listener per address and returns their URLs. */
  async listen(addresses: readonly ListenAddress[]): Promise<string[]> {
    const s = this.#settings
    const limits: ListenerLimits = {
      maxHeaderSize: s?.client_max_header_size ?? 32 * 1024,
      maxHeaders: this.#env.maxHeaders,
      headersTimeout: s?.client_header_timeout ?? 60_000,
      requestTimeout: s?.client_request_timeout ?? 300_000,
    }
    const handlers: ListenerHandlers = {
      request: (req, res, scheme) => this.#onRequest(req, res, scheme),
      upgrade: (req, socket, head, scheme) => this.#onUpgrade(req, socket, head, scheme),
      connection: (socket) => {
        this.stats.connections_active++
        socket.once('close', () => this.stats.connections_active--)
      },
    }
    const needsTls = addresses.some((a) => a.ssl)
    const defaultCert =
      needsTls && s ? await loadDefaultCertificate(s, this.#logger) : needsTls ? await this.#ephemeralCert() : null
    const tls = defaultCert && {
      ...defaultCert,
      // Read per handshake: a new snapshot's certificates apply from the next handshake on.
      contextFor: (servername: string) => this.#applier.current?.certificates.lookup(servername),
    }
    const urls: string[] = []
    for (const address of addresses) {
      const listener = await openListener(address, handlers, limits, tls, this.#logger)
      this.#listeners.push(listener)
      this.#logger.info(
        { url: listener.url, host: address.host, port: address.port, ssl: address.ssl, http2: address.http2 },
        'proxy listening',
      )
      urls.push(listener.url)
    }
    return urls
  }

  /** The listeners' addresses as bound (a port 0 replaced by the one chosen), in `listen` order. */
  boundAddresses(): ListenAddress[] {
    return this.#listeners.map((l) => l.bound)
  }

  /** Without settings (embedded uses), TLS listeners get a throwaway self-signed certificate. */
  async #ephemeralCert() {
    const { issueCertificate } = await import('../tls/self-signed.ts')
    return issueCertificate({ commonName: 'localhost' })
  }

  /** Mints the request id (replacing any the client sent) and marks the response with what our answers need. */
  #identify(req: IncomingMessage, res: ServerResponse | null): string {
    const id = nextRequestId()
    req.headers[REQUEST_ID_HEADER] = id
    if (res) tagResponse(res, id, this.#env.headers)
    return id
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, scheme: Scheme): void {
    const startedAt = performance.now()
    this.stats.total_requests++
    this.#inFlight++
    if (this.#closing) res.shouldKeepAlive = false
    const requestId = this.#identify(req, res)
    const rejection = rejectRequest(req, this.#env)
    const config = rejection ? undefined : this.#applier.acquire()
    res.once('close', () => {
      if (config) this.#applier.release(config)
      if (--this.#inFlight === 0) this.#drained?.()
    })
    if (rejection) {
      res.shouldKeepAlive = false
      sendMessage(res, rejection.status, rejection.message, startedAt, undefined, { Connection: 'close' })
      return
    }
    if (!config) {
      sendMessage(res, 503, MESSAGES.noConfig, startedAt)
      return
    }
    try {
      handleRequest(requestScope(req, res, null, scheme, startedAt, requestId, this.#env, config))
    } catch (err) {
      this.#logger.error(
        { err, request_id: requestId, method: req.method, url: req.url },
        'proxy failed to handle a request',
      )
      if (res.headersSent) res.destroy()
      else sendMessage(res, 500, MESSAGES.unexpected, startedAt, { request_id: requestId })
    }
  }

  /** An Upgrade request (WebSocket): routed like any request, then relayed as bytes. */
  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: Scheme): void {
    const startedAt = performance.now()
    this.stats.total_requests++
    const requestId = this.#identify(req, null)
    const env = this.#env
    socket.on('error', () => socket.destroy())
    const rejection = rejectRequest(req, env)
    if (rejection || this.#closing || !isUpgrade(req)) {
      answerOnSocket(socket, rejection ?? { status: 400, message: MESSAGES.badRequest }, env, requestId, startedAt)
      return
    }
    const config = this.#applier.acquire()
    if (!config) {
      answerOnSocket(socket, { status: 503, message: MESSAGES.noConfig }, env, requestId, startedAt)
      return
    }
    this.#inFlight++
    this.#upgraded.add(socket)
    let released = false
    const release = () => {
      if (released) return
      released = true
      this.#upgraded.delete(socket)
      this.#applier.release(config)
      if (--this.#inFlight === 0) this.#drained?.()
    }
    socket.once('close', release)
    try {
      handleRequest(requestScope(req, null, { socket, head }, scheme, startedAt, requestId, env, config))
    } catch (err) {
      this.#logger.error({ err, request_id: requestId, url: req.url }, 'proxy failed to handle an upgrade')
      socket.destroy()
    }
  }

  /** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then drops the remaining connections. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true
    const closed = this.#listeners.map((listener) => listener.stop())
    for (const listener of this.#listeners) listener.closeIdle()
    if (this.#inFlight > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.#drained = resolve
        timer = setTimeout(resolve, timeoutMs)
      })
      clearTimeout(timer)
      this.#drained = null
    }
    for (const listener of this.#listeners) listener.closeAll()
    for (const socket of this.#upgraded) socket.destroy()
    await Promise.all(closed)
  }
}
