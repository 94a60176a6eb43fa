/**
 * Prometheus gauges for the cluster, computed at scrape time from the live registry. Labels stay bounded:
 * per-DP series carry the node id only (never a config hash), and are dropped when the DP goes away.
 */
import type { SnapshotFeed } from '@turnpike/shared'
import { Gauge, Registry } from 'prom-client'
import type { DataPlaneRegistry } from './data-plane-registry.ts'

export function clusterMetrics(registry: DataPlaneRegistry, feed: SnapshotFeed): Registry {
  const metrics = new Registry()
  const connected = () => [...registry.states()].filter((s) => s.view.connected)
  new Gauge({
    name: 'turnpike_cluster_data_planes_connected',
    help: 'Data planes with an open sync stream to this control plane',
    registers: [metrics],
    collect() {
      this.set(connected().length)
    },
  })
  new Gauge({
    name: 'turnpike_cluster_config_version',
    help: 'Version of the newest config snapshot this control plane serves',
    registers: [metrics],
    collect() {
      this.set(feed.current()?.version ?? 0)
    },
  })
  new Gauge({
    name: 'turnpike_cluster_data_planes_out_of_sync',
    help: 'Connected data planes not serving the newest config',
    registers: [metrics],
    collect() {
      const hash = feed.current()?.hash
      this.set(connected().filter((s) => s.view.config_hash !== hash).length)
    },
  })
  new Gauge({
    name: 'turnpike_cluster_data_planes_by_status',
    help: 'Connected data planes by sync_status',
    labelNames: ['sync_status'],
    registers: [metrics],
    collect() {
      this.reset()
      for (const s of connected()) this.inc({ sync_status: s.view.sync_status })
    },
  })
  new Gauge({
    name: 'turnpike_cluster_data_plane_config_lag',
    help: 'Config versions a connected data plane is behind this control plane (0: in sync)',
    labelNames: ['node_id'],
    registers: [metrics],
    collect() {
      this.reset()
      const current = feed.current()
      for (const s of connected()) {
        const v = s.view
        const lag = !current || v.config_hash === current.hash ? 0 : Math.max(1, current.version - v.config_version)
        this.set({ node_id: v.node_id }, lag)
      }
    },
  })
  return metrics
}
