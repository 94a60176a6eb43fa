/**
 * gRPC proxying: an HTTP/2 request from the client becomes a stream on the service's HTTP/2 session, messages
 * flow both ways with backpressure (pipes), and trailers (grpc-status, grpc-message) are relayed. A trailers-only
 * answer (HEADERS with END_STREAM: how gRPC servers report most errors) is relayed as one, or clients would miss
 * the status. Failures before the response map to Kong's 502/504, which gRPC clients read as UNAVAILABLE.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  type ClientHttp2Stream,
  constants,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type ServerHttp2Stream,
} from 'node:http2'
import type { Peer } from '../backend/peer.ts'
import { MESSAGES } from '../http/messages.ts'
import { sendMessage } from '../http/respond.ts'
import type { Tries } from './dispatch.ts'
import type { ProxyDispatchOptions } from './exchange.ts'
import { prepareResponseHeaders } from './headers.ts'
import type { RequestScope } from './request-scope.ts'
import type { Forward } from './route-request.ts'
import { classifyUpstreamError } from './upstream-errors.ts'

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = constants

/** The upstream request's headers as an HTTP/2 raw list: pseudo-headers first, names lowercased, Host as :authority. */
function h2RequestHeaders(options: ProxyDispatchOptions, peer: Peer): string[] {
  const list = options.headers as string[]
  const out: string[] = [
    ':method',
    options.method,
    ':path',
    options.path,
    ':scheme',
    peer.settings.secure ? 'https' : 'http',
    ':authority',
    peer.hostHeader,
  ]
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase()
    if (name === 'host') out[7] = list[i + 1]!
    else out.push(name, list[i + 1]!)
  }
  // gRPC servers want TE: trailers; hop-by-hop stripping removed the client's.
  out.push('te', 'trailers')
  return out
}

function responseHeaders(headers: IncomingHttpHeaders & IncomingHttpStatusHeader): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) if (name.charCodeAt(0) !== 0x3a || name === ':status') out[name] = headers[name]
  return out
}

/** One gRPC call, one try: streams are not replayable, so a failed call is reported, not retried. */
export function forwardGrpc(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  scope: RequestScope,
  forward: Forward,
  tries: Tries,
): void {
  const { startedAt, env } = scope
  const options = forward.options
  const settings = forward.backend.settings
  const downstream: ServerHttp2Stream = res.stream
  const t = tries.next()
  if (t === undefined) {
    sendMessage(res as unknown as ServerResponse, 503, MESSAGES.noPeer, startedAt)
    return
  }
  const { peer, h2 } = t.connection
  const dispatchedAt = t.startedAt
  let responded = false
  let failed = false
  let ended = false
  const end = (result: number | Error) => {
    if (ended) return
    ended = true
    tries.end(t, result)
  }

  const fail = (err: unknown) => {
    if (failed || downstream.destroyed || downstream.closed) return
    failed = true
    end(err as Error)
    if (responded) {
      // Headers are out: only a stream reset can tell the client the call broke.
      downstream.close(NGHTTP2_INTERNAL_ERROR)
      return
    }
    const failure = classifyUpstreamError(err)
    env.logger.warn(
      { err, status: failure.status, origin: peer.origin, path: options.path },
      'upstream gRPC call failed',
    )
    sendMessage(res as unknown as ServerResponse, failure.status, failure.message, startedAt)
  }

  let up: ClientHttp2Stream
  try {
    up = h2!.session().request(h2RequestHeaders(options, peer), { endStream: options.body == null })
  } catch (err) {
    fail(err)
    return
  }
  up.setTimeout(settings.readTimeout, () => {
    const err: NodeJS.ErrnoException = new Error(`no upstream data for ${settings.readTimeout} ms (read_timeout)`)
    err.code = 'UND_ERR_HEADERS_TIMEOUT'
    up.destroy(err)
  })

  up.once('trailers', (t: IncomingHttpHeaders) => {
    const trailers: OutgoingHttpHeaders = {}
    for (const name in t) if (name.charCodeAt(0) !== 0x3a) trailers[name] = t[name]
    // Sent by the compatibility layer once the body is done.
    res.addTrailers(trailers)
  })
  up.once('response', (headers, flags) => {
    end(Number(headers[':status']))
    if (downstream.destroyed || downstream.closed) return
    const out = prepareResponseHeaders(
      responseHeaders(headers) as never,
      '2.0',
      performance.now() - dispatchedAt,
      dispatchedAt - startedAt,
      env.headers,
      scope.requestId,
      headers[':status'],
    ) as OutgoingHttpHeaders
    responded = true
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-only: one HEADERS frame ending the stream, straight on the stream (the compatibility layer
      // would always add a trailers frame).
      downstream.respond(out, { endStream: true })
      return
    }
    const status = Number(out[':status'])
    delete out[':status']
    res.writeHead(status, out)
    up.pipe(res as unknown as NodeJS.WritableStream)
  })
  up.on('error', fail)
  // The upstream reset the stream (server cancelled, or refused it): pass the reset on.
  up.once('close', () => {
    if (!responded && !downstream.closed)
      fail(Object.assign(new Error('upstream reset the stream'), { code: 'ECONNRESET' }))
    else if (up.rstCode && up.rstCode !== constants.NGHTTP2_NO_ERROR && !downstream.closed) downstream.close(up.rstCode)
  })
  // The client cancelled (or went away): cancel upstream too.
  downstream.once('close', () => {
    end(499)
    if (!up.closed) up.close(NGHTTP2_CANCEL)
  })
  if (options.body != null) req.pipe(up)
}
