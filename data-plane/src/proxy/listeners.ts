/**
 * Proxy listeners, one per `proxy_listen` entry: plain HTTP/1.1; plain with `http2` (h2c by prior knowledge
 * and HTTP/1.1 on one port, told apart by the connection preface); `ssl` (HTTPS, HTTP/1.1); `ssl http2` (ALPN h2
 * and http/1.1). All deliver to the same request handler (HTTP/2 through node's compatibility API) and share the
 * hardening options: strict parsing, header size and count limits, header and request timeouts.
 */
import {
  createServer as createHttpServer,
  Server as HttpServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http'
import {
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type SecureServerOptions,
} from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { SecureContext } from 'node:tls'
import type { ListenAddress, Logger } from '@turnpike/shared'
import { SERVER_TOKEN } from '../http/header-switches.ts'
import { listen, urlFor } from '../http/listen.ts'
import { MESSAGES } from '../http/messages.ts'

export type Scheme = 'http' | 'https'

export interface ListenerHandlers {
  request(req: IncomingMessage, res: ServerResponse, scheme: Scheme): void
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: Scheme): void
  connection(socket: Socket): void
}

export interface ListenerLimits {
  /** Largest request head in bytes (431 above). */
  maxHeaderSize: number
  /** Most header fields; the handler answers 431 above (node is told one more, so it can tell). */
  maxHeaders: number
  headersTimeout: number
  /** 0 disables. */
  requestTimeout: number
}

export interface ListenerTls {
  cert: string
  key: string
  /** The snapshot's context for a server name, or undefined for the default certificate. */
  contextFor(servername: string): SecureContext | undefined
}

export interface Listener {
  readonly url: string
  /** The address as bound: a port 0 replaced by the one the system chose. */
  readonly bound: ListenAddress
  /** Stops accepting; in-flight requests go on. */
  stop(): Promise<void>
  closeIdle(): void
  /** Drops every connection. */
  closeAll(): void
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/** node:http options that make the HTTP/1.1 parser strict and bounded. */
function http1Options(limits: ListenerLimits): ServerOptions {
  const requestTimeout = limits.requestTimeout
  // node insists headersTimeout <= requestTimeout when both are on.
  const headersTimeout = requestTimeout > 0 ? Math.min(limits.headersTimeout, requestTimeout) : limits.headersTimeout
  return {
    maxHeaderSize: limits.maxHeaderSize,
    insecureHTTPParser: false,
    requireHostHeader: true,
    // Repeated headers stay separate in rawHeaders (what is forwarded and what header routing reads).
    joinDuplicateHeaders: false,
    headersTimeout,
    requestTimeout,
    // nginx keeps idle client connections 75 s (node: 5 s). Load balancers in front reuse idle connections for
    // up to 60 s; closing sooner races their reuse and turns into their 502s.
    keepAliveTimeout: 75_000,
    // Timeouts are only noticed when node checks: often enough to bound slowloris, rarely enough to stay cheap.
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(5_000, Math.floor(Math.min(headersTimeout || 60_000, requestTimeout || 60_000) / 4)),
    ),
  }
}

/** nginx's http2_max_concurrent_streams: streams one client connection may have open at once. */
const MAX_CONCURRENT_STREAMS = 128
/** Streams a client may reset within RESET_WINDOW_MS before its connection is closed (rapid reset, CVE-2023-44487). */
const MAX_RESETS = 200
const RESET_WINDOW_MS = 10_000
/** HTTP/2's ENHANCE_YOUR_CALM: the GOAWAY code for a peer generating excessive load. */
const ENHANCE_YOUR_CALM = 0xb

function h2Settings(limits: ListenerLimits) {
  return {
    settings: { maxHeaderListSize: limits.maxHeaderSize, maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    // Pseudo-headers count too.
    maxHeaderListPairs: limits.maxHeaders + 8,
  }
}

/** node's own client-error answers, but in Kong's JSON shape and with the Server header. */
function clientErrorHandler(logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = err.code ?? ''
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy()
      return
    }
    const status =
      code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
            ? 413
            : 400
    logger.debug({ code, reason: err.message, status }, 'rejected a malformed or slow request')
    // Only when no response of ours started on this socket, or the client would read garbage.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (!inFlight?.headersSent) {
      const message =
        status === 431
          ? MESSAGES.headersTooLarge
          : status === 408
            ? MESSAGES.requestTimeout
            : status === 413
              ? MESSAGES.payloadTooLarge
              : MESSAGES.badRequest
      const body = JSON.stringify({ message })
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nServer: ${SERVER_TOKEN}\r\n\r\n${body}`,
      )
    }
    socket.destroy()
  }
}

/** CONNECT has no place in a reverse proxy: answer 400 rather than node's silent close. */
function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  const body = JSON.stringify({ message: MESSAGES.badRequest })
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\nServer: ${SERVER_TOKEN}\r\n\r\n${body}`,
  )
}

/** Only WebSocket handshakes are relayed as upgrades (like Kong); other Upgrade requests are plain requests. */
const isWebSocket = (req: IncomingMessage) => (req.headers.upgrade ?? '').toLowerCase() === 'websocket'

function wireHttp1(
  server: Server | Http2SecureServer,
  scheme: Scheme,
  handlers: ListenerHandlers,
  limits: ListenerLimits,
  logger: Logger,
): void {
  ;(server as Server).maxHeadersCount = limits.maxHeaders + 1
  ;(server as unknown as { shouldUpgradeCallback: typeof isWebSocket }).shouldUpgradeCallback = isWebSocket
  server.on('request', (req: IncomingMessage, res: ServerResponse) => handlers.request(req, res, scheme))
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    handlers.upgrade(req, socket, head, scheme),
  )
  server.on('connect', refuseConnect)
  server.on('clientError', clientErrorHandler(logger))
}

function trackSessions(server: Http2Server | Http2SecureServer, sessions: Set<Http2Session>, logger: Logger): void {
  server.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
    limitResets(session, logger)
  })
  server.on('sessionError', (err: Error) => logger.debug({ err }, 'HTTP/2 session error'))
}

/**
 * Counts the streams a client resets before they are answered; past MAX_RESETS in RESET_WINDOW_MS the connection
 * gets GOAWAY(ENHANCE_YOUR_CALM) and is closed, as nginx and Envoy answer rapid-reset floods. Each reset already
 * cancels its upstream request (the exchange aborts it); this bounds how fast a client can make them.
 */
function limitResets(session: Http2Session, logger: Logger): void {
  let windowStart = 0
  let resets = 0
  session.on('stream', (stream) => {
    stream.once('aborted', () => {
      const now = performance.now()
      if (now - windowStart > RESET_WINDOW_MS) {
        windowStart = now
        resets = 0
      }
      if (++resets !== MAX_RESETS + 1 || session.destroyed) return
      logger.warn(
        { remote: session.socket?.remoteAddress, resets },
        'HTTP/2 client reset too many streams; closing its connection',
      )
      session.goaway(ENHANCE_YOUR_CALM)
      session.destroy()
    })
  })
}

export async function openListener(
  address: ListenAddress,
  handlers: ListenerHandlers,
  limits: ListenerLimits,
  tls: ListenerTls | null,
  logger: Logger,
): Promise<Listener> {
  const scheme: Scheme = address.ssl ? 'https' : 'http'
  const sessions = new Set<Http2Session>()
  let outer: NetServer
  let http1: Server | null = null
  const closers: (() => void)[] = []
  const killers: (() => void)[] = []
  const stoppers: (() => void)[] = []

  if (address.ssl) {
    if (!tls) throw new Error('TLS listener without certificates')
    const tlsOptions = {
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2' as const,
      handshakeTimeout: limits.headersTimeout,
      SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
        let context: SecureContext | undefined
        try {
          context = tls.contextFor(servername)
        } catch (err) {
          logger.error({ err, servername }, 'certificate for this server name is unusable; serving the default one')
        }
        cb(null, context)
      },
    }
    if (address.http2) {
      const server = createSecureServer({
        ...tlsOptions,
        ...http1Options(limits),
        ...h2Settings(limits),
        allowHTTP1: true,
      } as SecureServerOptions)
      wireHttp1(server, scheme, handlers, limits, logger)
      trackSessions(server, sessions, logger)
      closers.push(() => HttpServer.prototype.closeIdleConnections.call(server as unknown as Server))
      // Its HTTP/1.1 connections are tracked the node:http way; reach them with node:http's method.
      killers.push(() => HttpServer.prototype.closeAllConnections.call(server as unknown as Server))
      outer = server
    } else {
      const server = createHttpsServer({ ...tlsOptions, ...http1Options(limits) })
      wireHttp1(server, scheme, handlers, limits, logger)
      http1 = server
      outer = server
    }
    outer.on('tlsClientError', (err: Error) => logger.debug({ err }, 'TLS handshake failed'))
  } else if (address.http2) {
    // One port for HTTP/1.1 and h2c: the first bytes say which (the HTTP/2 preface, RFC 9113 §3.4).
    const h1 = createHttpServer(http1Options(limits))
    wireHttp1(h1, scheme, handlers, limits, logger)
    // Never listens itself: start its timeout bookkeeping by hand.
    h1.emit('listening')
    http1 = h1
    const h2 = createH2cServer(h2Settings(limits))
    h2.on('request', (req, res) =>
      handlers.request(req as unknown as IncomingMessage, res as unknown as ServerResponse, scheme),
    )
    trackSessions(h2, sessions, logger)
    outer = createNetServer((socket) => sniff(socket, h1, h2, limits.headersTimeout))
    // It never listened, but its timeout bookkeeping must stop.
    stoppers.push(() => h1.close())
  } else {
    const server = createHttpServer(http1Options(limits))
    wireHttp1(server, scheme, handlers, limits, logger)
    http1 = server
    outer = server
  }
  outer.on('connection', handlers.connection)
  const info = await listen(outer as Server, address)
  const url = urlFor(scheme, info)

  return {
    url,
    bound: { ...address, port: info.port },
    stop: () =>
      new Promise<void>((resolve) => {
        outer.close(() => resolve())
        for (const stop of stoppers) stop()
        for (const close of closers) close()
        for (const session of sessions) session.close()
      }),
    closeIdle: () => {
      http1?.closeIdleConnections()
      for (const close of closers) close()
    },
    closeAll: () => {
      http1?.closeAllConnections()
      for (const kill of killers) kill()
      for (const session of sessions) session.destroy()
    },
  }
}

/** Reads just enough of a new plain connection to tell the HTTP/2 preface from an HTTP/1.1 request line. */
function sniff(socket: Socket, h1: Server, h2: Http2Server, timeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0)
  const timer = setTimeout(() => socket.destroy(), timeoutMs)
  const onData = (chunk: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, chunk]) : chunk
    const n = Math.min(seen.length, PREFACE.length)
    const isPreface = seen.subarray(0, n).equals(PREFACE.subarray(0, n))
    if (isPreface && n < PREFACE.length) return // not enough to decide
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('error', onError)
    socket.pause()
    socket.unshift(seen)
    if (isPreface) h2.emit('connection', socket)
    else {
      h1.emit('connection', socket)
      socket.resume()
    }
  }
  const onError = () => {
    clearTimeout(timer)
    socket.destroy()
  }
  socket.on('data', onData)
  socket.on('error', onError)
}
