/** HTTP(S) probe: GET `http_path` with the configured headers; the status is what counts. */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { type ActiveConfig, type ProbeResult, type ProbeTarget, settleOnce } from './probe.ts'

export function probeHttp(
  target: ProbeTarget,
  config: ActiveConfig,
  secure: boolean,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return settleOnce(timeoutMs, signal, (finish) => {
    const headers: OutgoingHttpHeaders = { host: target.host }
    for (const [name, values] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = values
    const options = {
      host: target.address,
      port: target.port,
      method: 'GET',
      path: config.http_path,
      headers,
      setHost: false,
      // A socket of its own, closed after the answer.
      agent: false as const,
    }
    const req = secure
      ? httpsRequest({
          ...options,
          servername: target.servername,
          rejectUnauthorized: config.https_verify_certificate,
        })
      : httpRequest(options)
    req.once('response', (res) => {
      // Closing the socket right after the status may abort the body: that is expected, not news.
      res.on('error', () => {})
      res.resume()
      finish({ kind: 'status', status: res.statusCode ?? 0 })
    })
    req.on('error', (err) => finish({ kind: 'tcp_failure', error: err.message }))
    req.end()
    return () => req.destroy()
  })
}
