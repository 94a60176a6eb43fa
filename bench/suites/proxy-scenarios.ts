/** The proxy suite's scenarios and which targets each one measures. */
import { buildRouteSet } from '../lib/route-set.ts'
import { BIG_BODY_BYTES, BIG_PATH, type LoadRequest, SMALL_BODY_BYTES } from '../lib/workload.ts'

export type Label = 'direct' | 'minimal-proxy' | 'fastify-proxy' | 'nginx' | 'turnpike'

export interface Scenario {
  name: string
  summary: string
  requests: LoadRequest[]
  bodyBytes: number
  headers?: Record<string, string>
  targets: Label[]
  /** Which data-plane process plays `turnpike` here. */
  dp: 'turnpike' | 'turnpike-1k' | 'turnpike-upstream-3' | 'turnpike-w2'
  /** Fixed rate at half of the data plane's max (from `small-keepalive`) instead of max throughput. */
  halfLoad?: boolean
}

const ALL: Label[] = ['direct', 'minimal-proxy', 'fastify-proxy', 'nginx', 'turnpike']
const CORE: Label[] = ['direct', 'minimal-proxy', 'nginx', 'turnpike']

export function scenarios(): Scenario[] {
  const probes = buildRouteSet(1000).probes.map(({ path, host }) => ({ path, host }))
  return [
    {
      name: 'small-keepalive',
      summary: '1 route, small body, keep-alive',
      requests: [{ path: '/' }],
      bodyBytes: SMALL_BODY_BYTES,
      targets: ALL,
      dp: 'turnpike',
    },
    {
      // Compared with small-keepalive's turnpike (same DP build, one host) in the same run, not with baselines.
      name: 'upstream-3',
      summary: '1 route, service through an upstream of 3 targets, small body, keep-alive',
      requests: [{ path: '/' }],
      bodyBytes: SMALL_BODY_BYTES,
      targets: ['turnpike'],
      dp: 'turnpike-upstream-3',
    },
    {
      // Compared with small-keepalive's turnpike (1 worker) per CPU-second of the data plane's process.
      name: 'workers-2',
      summary: '1 route, small body, keep-alive, 2 proxy workers (worker_processes = 2)',
      requests: [{ path: '/' }],
      bodyBytes: SMALL_BODY_BYTES,
      targets: ['turnpike'],
      dp: 'turnpike-w2',
    },
    {
      name: '1k-routes',
      summary: '1,000 routes (hosts, wildcards, prefixes, methods, regex), requests spread over all of them',
      requests: probes,
      bodyBytes: SMALL_BODY_BYTES,
      targets: CORE,
      dp: 'turnpike-1k',
    },
    {
      name: '64k-keepalive',
      summary: '1 route, 64 KiB body, keep-alive',
      requests: [{ path: `${BIG_PATH}/payload` }],
      bodyBytes: BIG_BODY_BYTES,
      targets: ALL,
      dp: 'turnpike',
    },
    {
      name: 'small-close',
      summary: '1 route, small body, new connection per request (Connection: close)',
      requests: [{ path: '/' }],
      bodyBytes: SMALL_BODY_BYTES,
      headers: { Connection: 'close' },
      targets: CORE,
      dp: 'turnpike',
    },
    {
      name: 'half-load',
      summary: 'fixed rate at 50% of the data plane’s small-keepalive max; latency is the point',
      requests: [{ path: '/' }],
      bodyBytes: SMALL_BODY_BYTES,
      targets: CORE,
      dp: 'turnpike',
      halfLoad: true,
    },
  ]
}
