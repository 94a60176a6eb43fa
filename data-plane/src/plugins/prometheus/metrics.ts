/**
 * The process's Prometheus metrics, in Kong's names so existing dashboards keep working, rendered in the text
 * exposition format on the status listener's /metrics. Series are plain counters keyed by their label string:
 * recording costs a map lookup, not a label hash per metric. Each worker thread records its own series; the
 * node's main thread gathers every worker's (`exportSeries`) and renders their sum.
 */
import type { UpstreamHealth } from '@turnpike/shared'

/** Kong's default latency buckets (ms). */
export const BUCKETS = [
  1, 2, 5, 7, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000,
]

class Histogram {
  counts = new Float64Array(BUCKETS.length)
  sum = 0
  count = 0

  add(o: HistogramSeries): void {
    for (let i = 0; i < BUCKETS.length; i++) this.counts[i] += o.counts[i] ?? 0
    this.sum += o.sum
    this.count += o.count
  }

  observe(v: number): void {
    this.sum += v
    this.count++
    for (let i = 0; i < BUCKETS.length; i++)
      if (v <= BUCKETS[i]) {
        this.counts[i]++
        return
      }
  }
}

type LatencyKind = 'kong' | 'upstream' | 'request'

interface Series {
  readonly requests: Map<string, number>
  readonly bandwidth: Map<string, number>
  readonly latency: Record<LatencyKind, Map<string, Histogram>>
}

const emptySeries = (): Series => ({
  requests: new Map(),
  bandwidth: new Map(),
  latency: { kong: new Map(), upstream: new Map(), request: new Map() },
})

/** What this thread recorded. */
const recorded = emptySeries()
const { requests, bandwidth, latency } = recorded

interface HistogramSeries {
  readonly counts: ArrayLike<number>
  readonly sum: number
  readonly count: number
}

/** One thread's series as plain data, for the thread that renders the node's exposition. */
export interface MetricSeries {
  readonly requests: [labels: string, n: number][]
  readonly bandwidth: [labels: string, bytes: number][]
  readonly latency: Record<LatencyKind, [labels: string, h: HistogramSeries][]>
}

export function exportSeries(): MetricSeries {
  const hist = (m: Map<string, Histogram>) =>
    Array.from(m, ([k, h]): [string, HistogramSeries] => [k, { counts: h.counts, sum: h.sum, count: h.count }])
  return {
    requests: [...requests],
    bandwidth: [...bandwidth],
    latency: { kong: hist(latency.kong), upstream: hist(latency.upstream), request: hist(latency.request) },
  }
}

function sum(all: readonly MetricSeries[]): Series {
  const out = emptySeries()
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n)
  for (const s of all) {
    for (const [k, n] of s.requests) add(out.requests, k, n)
    for (const [k, n] of s.bandwidth) add(out.bandwidth, k, n)
    for (const kind of ['kong', 'upstream', 'request'] as const)
      for (const [k, h] of s.latency[kind]) {
        let mine = out.latency[kind].get(k)
        if (mine === undefined) {
          mine = new Histogram()
          out.latency[kind].set(k, mine)
        }
        mine.add(h)
      }
  }
  return out
}

/** Escapes a label value for the exposition format. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

export function countRequest(labels: string): void {
  requests.set(labels, (requests.get(labels) ?? 0) + 1)
}

export function countBytes(labels: string, bytes: number): void {
  bandwidth.set(labels, (bandwidth.get(labels) ?? 0) + bytes)
}

export function observeLatency(kind: LatencyKind, labels: string, ms: number): void {
  const map = latency[kind]
  let h = map.get(labels)
  if (!h) {
    h = new Histogram()
    map.set(labels, h)
  }
  h.observe(ms)
}

function renderHistogram(out: string[], name: string, help: string, series: Map<string, Histogram>): void {
  if (series.size === 0) return
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
  for (const [labels, h] of series) {
    let cumulative = 0
    for (let i = 0; i < BUCKETS.length; i++) {
      cumulative += h.counts[i]
      out.push(`${name}_bucket{${labels},le="${BUCKETS[i].toFixed(1)}"} ${cumulative}`)
    }
    out.push(`${name}_bucket{${labels},le="+Inf"} ${h.count}`, `${name}_count{${labels}} ${h.count}`)
    out.push(`${name}_sum{${labels}} ${h.sum}`)
  }
}

export interface NodeStats {
  total_requests: number
  connections_active: number
}

/** Kong's target states, each a series that is 1 for the current state and 0 for the others. */
const TARGET_STATES = ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error'] as const

/** `kong_upstream_target_health`, per address (per target when it has none, as a DNS failure leaves it). */
function renderTargetHealth(out: string[], upstreams: readonly UpstreamHealth[]): void {
  out.push(
    '# HELP kong_upstream_target_health Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.',
    '# TYPE kong_upstream_target_health gauge',
  )
  for (const u of upstreams)
    for (const t of u.targets) {
      const rows: { address: string; state: string }[] = t.addresses.length
        ? t.addresses.map((a) => ({ address: `${a.ip}:${a.port}`, state: a.health.toLowerCase() }))
        : [{ address: '', state: t.health.toLowerCase() }]
      for (const r of rows)
        for (const state of TARGET_STATES)
          out.push(
            `kong_upstream_target_health{upstream="${labelValue(u.upstream_name)}",target="${labelValue(t.target)}",address="${labelValue(r.address)}",state="${state}",subsystem="http"} ${state === r.state ? 1 : 0}`,
          )
    }
}

/**
 * The whole exposition: node-level series, what prometheus instances recorded (`series`: every worker's; this
 * thread's by default), and — when an instance has `upstream_health_metrics` on — the health of every target.
 */
export function renderMetrics(
  node?: NodeStats,
  upstreamHealth?: readonly UpstreamHealth[],
  series: readonly MetricSeries[] = [exportSeries()],
): string {
  const { requests, bandwidth, latency } = sum(series)
  const out: string[] = []
  if (node) {
    out.push(
      '# HELP kong_nginx_requests_total Number of requests total',
      '# TYPE kong_nginx_requests_total counter',
      `kong_nginx_requests_total ${node.total_requests}`,
      '# HELP kong_nginx_connections_total Number of connections by subsystem',
      '# TYPE kong_nginx_connections_total gauge',
      `kong_nginx_connections_total{subsystem="http",state="active"} ${node.connections_active}`,
    )
  }
  if (requests.size) {
    out.push(
      '# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong',
      '# TYPE kong_http_requests_total counter',
    )
    for (const [labels, n] of requests) out.push(`kong_http_requests_total{${labels}} ${n}`)
  }
  renderHistogram(
    out,
    'kong_kong_latency_ms',
    'Latency added by Kong and enabled plugins for each service/route in Kong',
    latency.kong,
  )
  renderHistogram(
    out,
    'kong_upstream_latency_ms',
    'Latency added by upstream response for each service/route in Kong',
    latency.upstream,
  )
  renderHistogram(
    out,
    'kong_request_latency_ms',
    'Total latency incurred during requests for each service/route in Kong',
    latency.request,
  )
  if (bandwidth.size) {
    out.push(
      '# HELP kong_bandwidth_bytes Total bandwidth (ingress/egress) throughput in bytes',
      '# TYPE kong_bandwidth_bytes counter',
    )
    for (const [labels, n] of bandwidth) out.push(`kong_bandwidth_bytes{${labels}} ${n}`)
  }
  if (upstreamHealth?.length) renderTargetHealth(out, upstreamHealth)
  return `${out.join('\n')}\n`
}

/** Drops every recorded series (tests). */
export function resetMetrics(): void {
  requests.clear()
  bandwidth.clear()
  for (const m of Object.values(latency)) m.clear()
}
