/**
 * gRPC probe: grpc.health.v1.Health/Check for the server as a whole (service ""), over HTTP/2 (cleartext for grpc,
 * TLS for grpcs). SERVING is a success; any other status, a non-OK grpc-status or a non-200 answer is a failure.
 */
import { connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import { type ActiveConfig, type ProbeResult, type ProbeTarget, settleOnce } from './probe.ts'

const CHECK_PATH = '/grpc.health.v1.Health/Check'
/** One uncompressed gRPC message of length 0: HealthCheckRequest with every field default. */
const EMPTY_REQUEST = Buffer.alloc(5)
const SERVING = 1
const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']
/** A health answer is a few bytes; more is not a health service. */
const MAX_BODY = 64 * 1024

export function probeGrpc(
  target: ProbeTarget,
  config: ActiveConfig,
  secure: boolean,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return settleOnce(timeoutMs, signal, (finish) => {
    const host = target.address.includes(':') ? `[${target.address}]` : target.address
    const session = connect(
      `${secure ? 'https' : 'http'}://${host}:${target.port}`,
      secure ? { servername: target.servername, rejectUnauthorized: config.https_verify_certificate } : {},
    )
    session.on('error', (err) => finish({ kind: 'tcp_failure', error: err.message }))
    const headers: OutgoingHttpHeaders = {}
    for (const [name, values] of Object.entries(config.headers ?? {})) {
      const n = name.toLowerCase()
      if (n !== 'host' && !n.startsWith(':')) headers[n] = values
    }
    Object.assign(headers, {
      ':method': 'POST',
      ':path': CHECK_PATH,
      ':authority': target.host,
      'content-type': 'application/grpc',
      te: 'trailers',
    })
    const stream = session.request(headers)
    const chunks: Buffer[] = []
    let size = 0
    let status = 0
    let grpcStatus: string | undefined
    const readStatus = (h: IncomingHttpHeaders) => {
      const s = h['grpc-status']
      if (typeof s === 'string') grpcStatus = s
    }
    stream.once('response', (h) => {
      status = Number(h[':status'])
      readStatus(h)
    })
    stream.once('trailers', readStatus)
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) finish({ kind: 'grpc', serving: false, detail: 'answer too large' })
      else chunks.push(chunk)
    })
    stream.on('error', (err) => finish({ kind: 'tcp_failure', error: err.message }))
    stream.once('end', () => finish(verdictOf(status, grpcStatus, Buffer.concat(chunks))))
    stream.once('close', () => finish({ kind: 'tcp_failure', error: 'stream closed before the answer' }))
    stream.resume()
    stream.end(EMPTY_REQUEST)
    return () => session.destroy()
  })
}

function verdictOf(status: number, grpcStatus: string | undefined, body: Buffer): ProbeResult {
  if (status !== 200) return { kind: 'grpc', serving: false, detail: `HTTP status ${status}` }
  if (grpcStatus !== '0') return { kind: 'grpc', serving: false, detail: `grpc-status ${grpcStatus ?? 'missing'}` }
  const serving = servingStatus(body)
  if (serving === undefined) return { kind: 'grpc', serving: false, detail: 'malformed HealthCheckResponse' }
  return { kind: 'grpc', serving: serving === SERVING, detail: STATUS_NAMES[serving] ?? `status ${serving}` }
}

/** `status` (field 1) of the first HealthCheckResponse frame; 0 (UNKNOWN) when absent; undefined when malformed. */
function servingStatus(body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined
  const end = 5 + body.readUInt32BE(1)
  if (end > body.length) return undefined
  let pos = 5
  let status = 0
  const varint = (): number | undefined => {
    let value = 0
    for (let shift = 0; shift < 35 && pos < end; shift += 7) {
      const b = body[pos++]
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
    }
    return undefined
  }
  while (pos < end) {
    const tag = varint()
    if (tag === undefined) return undefined
    const wire = tag & 7
    if (wire === 0) {
      const v = varint()
      if (v === undefined) return undefined
      if (tag >>> 3 === 1) status = v
    } else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else if (wire === 2) {
      const len = varint()
      if (len === undefined) return undefined
      pos += len
    } else return undefined
  }
  return pos === end ? status : undefined
}
