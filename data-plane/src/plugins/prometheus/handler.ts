/**
 * prometheus: records each request in the log phase (status codes, latencies, bandwidth — each behind Kong's
 * flag), exposed on the status listener's /metrics. Label strings for a route are built once and reused.
 */
import type { PrometheusConfig } from '@turnpike/shared'
import { defineHandler, type PluginContext } from '../../pipeline/types.ts'
import { countBytes, countRequest, labelValue, observeLatency } from './metrics.ts'

/** Per route: its label string and, per status and source, the series key (built once, then looked up). */
interface RouteSeries {
  labels: string
  latency: string
  byStatus: Map<number, string>
}

const routeSeries = new WeakMap<object, RouteSeries>()
const NO_ROUTE: RouteSeries = {
  labels: 'service="",route=""',
  latency: 'service="",route="",workspace="default"',
  byStatus: new Map(),
}

function seriesOf(ctx: PluginContext): RouteSeries {
  const route = ctx.route
  if (!route) return NO_ROUTE
  let s = routeSeries.get(route)
  if (s === undefined) {
    const service = ctx.service
    const labels = `service="${labelValue(service?.name ?? service?.host ?? '')}",route="${labelValue(route.name ?? route.id)}"`
    s = { labels, latency: `${labels},workspace="default"`, byStatus: new Map() }
    routeSeries.set(route, s)
  }
  return s
}

function consumerLabel(ctx: PluginContext): string {
  const c = ctx.consumer
  return labelValue(c?.username ?? c?.custom_id ?? c?.id ?? '')
}

export const prometheusHandler = defineHandler<PrometheusConfig>({
  log(ctx, conf) {
    const series = seriesOf(ctx)
    const labels = series.labels
    const consumer = conf.per_consumer ? consumerLabel(ctx) : ''
    const upstream = ctx.response.source === 'upstream'
    if (conf.status_code_metrics) {
      const status = ctx.response.status
      if (consumer === '') {
        // Status and source fit one small integer: the series key is built once per route and status.
        const slot = status * 2 + (upstream ? 1 : 0)
        let key = series.byStatus.get(slot)
        if (key === undefined) {
          key = `${labels},code="${status}",source="${upstream ? 'service' : 'kong'}",workspace="default",consumer=""`
          series.byStatus.set(slot, key)
        }
        countRequest(key)
      } else
        countRequest(
          `${labels},code="${status}",source="${upstream ? 'service' : 'kong'}",workspace="default",consumer="${consumer}"`,
        )
    }
    if (conf.latency_metrics) {
      const l = ctx.response.latencies
      observeLatency('request', series.latency, l.total)
      if (upstream) {
        observeLatency('upstream', series.latency, l.upstream)
        observeLatency('kong', series.latency, l.total - l.upstream)
      } else observeLatency('kong', series.latency, l.total)
    }
    if (conf.bandwidth_metrics) {
      const base = `${labels},workspace="default",consumer="${consumer}"`
      countBytes(`${base},direction="egress"`, ctx.response.bodyBytes)
      countBytes(`${base},direction="ingress"`, ctx.request.contentLength ?? ctx.request.body?.length ?? 0)
    }
  },
})
