/**
 * WebSocket (and any HTTP/1.1 Upgrade) proxying: the handshake is routed like any request, sent to the upstream
 * on a fresh connection, and the upstream's answer relayed with Turnpike's headers added; from then on bytes are
 * piped both ways untouched. Either side's close (FIN) is passed on as a half-close, an error or reset tears both
 * down, and a connection silent for the service's read_timeout is closed, as nginx does for upgraded requests.
 */
import { connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { connectOptions } from '../backend/peer.ts'
import { SERVER_TOKEN } from '../http/header-switches.ts'
import { MESSAGES } from '../http/messages.ts'
import type { Tries } from './dispatch.ts'
import type { ProxyEnv } from './proxy-env.ts'
import type { RequestScope } from './request-scope.ts'
import type { Forward } from './route-request.ts'
import { classifyUpstreamError } from './upstream-errors.ts'

/** Longest upstream handshake answer accepted before the bytes are relayed. */
const MAX_RESPONSE_HEAD = 64 * 1024
const HEAD_END = Buffer.from('\r\n\r\n')

export interface RawAnswer {
  status: number
  message: string
  headers?: Record<string, string | number>
  empty?: boolean
}

/** Writes one of Turnpike's own answers straight onto a socket taken over by an upgrade, then closes it. */
export function answerOnSocket(
  socket: Duplex,
  answer: RawAnswer,
  env: ProxyEnv,
  requestId: string,
  startedAt: number,
): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = answer.empty ? '' : JSON.stringify({ message: answer.message })
  let head = `HTTP/1.1 ${answer.status} ${reason(answer.status)}\r\n`
  for (const [name, value] of Object.entries(answer.headers ?? {}))
    if (name.toLowerCase() !== 'connection') head += `${name}: ${value}\r\n`
  if (!answer.empty) head += 'Content-Type: application/json; charset=utf-8\r\n'
  if (env.headers.server) head += `Server: ${SERVER_TOKEN}\r\n`
  if (env.headers.responseLatency)
    head += `X-Turnpike-Response-Latency: ${Math.round(performance.now() - startedAt)}\r\n`
  if (env.headers.requestId) head += `X-Turnpike-Request-Id: ${requestId}\r\n`
  socket.end(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

const REASONS: Record<number, string> = {
  101: 'Switching Protocols',
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  404: 'Not Found',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}
const reason = (status: number) => REASONS[status] ?? 'Error'

/** Proxies an upgrade the router sent to a service: one try, to the member its balancer picks. */
export function proxyUpgrade(scope: RequestScope, forward: Forward, tries: Tries): void {
  const { req, env, requestId, startedAt } = scope
  const { socket: client, head } = scope.upgrade!
  const options = forward.options
  const t = tries.next()
  if (t === undefined) {
    answerOnSocket(client, { status: 503, message: MESSAGES.noPeer }, env, requestId, startedAt)
    return
  }
  const peer = t.connection.peer
  const settings = peer.settings
  const dispatchedAt = t.startedAt
  let ended = false
  const endTry = (result: number | Error) => {
    if (ended) return
    ended = true
    tries.end(t, result)
  }
  const tlsOptions = connectOptions(peer)
  const server: Socket = settings.secure
    ? tlsConnect({
        ...tlsOptions,
        host: peer.host,
        port: peer.port,
        // SNI is the Host sent upstream, as for other requests; never an IP literal.
        servername: sniFor(options.headers as string[], peer.servername),
        ALPNProtocols: ['http/1.1'],
      })
    : netConnect({ host: peer.host, port: peer.port, lookup: tlsOptions.lookup })
  let relaying = false
  client.once('close', () => {
    endTry(499)
    server.destroy()
  })

  const connectTimer = setTimeout(() => {
    const err: NodeJS.ErrnoException = new Error('connect timeout')
    err.code = 'UND_ERR_CONNECT_TIMEOUT'
    server.destroy(err)
  }, settings.connectTimeout)

  const fail = (err: Error) => {
    clearTimeout(connectTimer)
    if (relaying) {
      client.destroy()
      server.destroy()
      return
    }
    relaying = true // answer once
    endTry(err)
    const failure = classifyUpstreamError(err)
    env.logger.warn({ err, status: failure.status, origin: peer.origin, path: options.path }, 'upstream upgrade failed')
    server.destroy()
    answerOnSocket(client, { status: failure.status, message: failure.message }, env, requestId, startedAt)
  }
  server.on('error', fail)
  client.on('error', () => {
    client.destroy()
    server.destroy()
  })

  server.once(settings.secure ? 'secureConnect' : 'connect', () => {
    clearTimeout(connectTimer)
    const list = options.headers as string[]
    let text = `${options.method} ${options.path} HTTP/1.1\r\n`
    for (let i = 0; i < list.length; i += 2) text += `${list[i]}: ${list[i + 1]}\r\n`
    // The client's early bytes (its first frames) wait for the 101: until then they are not the upstream's.
    server.write(`${text}\r\n`)
  })

  // Read the handshake answer, add our headers, then relay everything as bytes.
  let answer: Buffer = Buffer.alloc(0)
  const readHead = (chunk: Buffer) => {
    answer = answer.length ? Buffer.concat([answer, chunk]) : chunk
    const end = answer.indexOf(HEAD_END)
    if (end === -1) {
      if (answer.length > MAX_RESPONSE_HEAD)
        fail(Object.assign(new Error('upstream handshake answer too large'), { code: 'HPE_HEADER_OVERFLOW' }))
      return
    }
    server.off('data', readHead)
    relaying = true
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1', 0, 16))?.[1] ?? 502)
    endTry(status)
    const switched = status === 101 && upgradeMatches(answer.toString('latin1', 0, end), req.headers.upgrade)
    const now = performance.now()
    let extra = ''
    if (env.headers.via) extra += `Via: ${req.httpVersion} ${SERVER_TOKEN}\r\n`
    if (env.headers.upstreamLatency) extra += `X-Turnpike-Upstream-Latency: ${Math.round(now - dispatchedAt)}\r\n`
    if (env.headers.proxyLatency) extra += `X-Turnpike-Proxy-Latency: ${Math.round(dispatchedAt - startedAt)}\r\n`
    if (env.headers.requestId) extra += `X-Turnpike-Request-Id: ${requestId}\r\n`
    if (!switched) {
      // Not a switch (a 200, a 401, a 101 to another protocol): relay the answer as HTTP, then close — the
      // connection never becomes a tunnel that later requests could ride past routing and plugins.
      const lines = answer.toString('latin1', 0, end).split('\r\n')
      const kept = lines.filter((line, i) => i === 0 || !/^(connection|keep-alive|upgrade)[ \t]*:/i.test(line))
      const headText = `${kept.join('\r\n')}\r\n${extra}Connection: close\r\n\r\n`
      client.write(Buffer.concat([Buffer.from(headText, 'latin1'), answer.subarray(end + 4)]))
      server.setTimeout(settings.readTimeout, () => server.destroy())
      server.pipe(client)
      return
    }
    client.write(Buffer.concat([answer.subarray(0, end + 2), Buffer.from(extra), answer.subarray(end + 2)]))
    if (head.length) server.write(head)
    // Idle connections close after read_timeout, in either direction.
    const idle = settings.readTimeout
    server.setTimeout(idle, () => {
      client.destroy()
      server.destroy()
    })
    if ('setTimeout' in client && typeof client.setTimeout === 'function')
      (client as Socket).setTimeout(idle, () => {
        client.destroy()
        server.destroy()
      })
    server.pipe(client)
    client.pipe(server)
  }
  server.on('data', readHead)
  // Until relaying starts, a client gone means an upstream not needed.
  client.once('end', () => {
    if (!relaying) server.destroy()
  })
  server.once('end', () => {
    if (!relaying)
      fail(Object.assign(new Error('upstream closed before answering the upgrade'), { code: 'ECONNRESET' }))
  })
}

/** Whether a 101 answer switches to the protocol the client asked for (`Upgrade` names it). */
function upgradeMatches(responseHead: string, requested: string | undefined): boolean {
  const m = /\r\nupgrade:[ \t]*([^\r\n]*)/i.exec(responseHead)
  if (!m || requested === undefined) return false
  const wanted = new Set(requested.split(',').map((p) => p.trim().toLowerCase()))
  return m[1]!.split(',').some((p) => wanted.has(p.trim().toLowerCase()))
}

function sniFor(list: readonly string[], fallback: string | undefined): string | undefined {
  let host = fallback ?? ''
  for (let i = 0; i < list.length; i += 2) if (list[i]!.toLowerCase() === 'host') host = list[i + 1]!
  const name = host.startsWith('[') ? '' : host.replace(/:\d+$/, '')
  return name === '' || /^[\d.]+$/.test(name) || name.includes(':') ? undefined : name
}
