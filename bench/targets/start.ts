/** Harness side: starts each proxy-suite target in its own process and says how to reach it. */
import { type Child, spawnNodeScript } from '../lib/processes.ts'
import { findNginx, startNginx } from './nginx.ts'

export type TargetName =
  | 'direct'
  | 'minimal-proxy'
  | 'fastify-proxy'
  | 'nginx'
  | 'turnpike'
  | 'turnpike-1k'
  | 'turnpike-upstream-3'
  | 'turnpike-w2'

export interface RunningTarget {
  name: TargetName
  url: string
  /** Process whose CPU use is reported (nginx: the master; its worker is counted as a descendant). */
  pid?: number
  child?: Child
  /** Version or configuration worth keeping in the results. */
  detail?: string
  /** The upstream's ports, `url`'s first (it serves the same answers on each). */
  ports?: number[]
}

const script = (file: string) => new URL(`./${file}`, import.meta.url)

async function startNode(name: TargetName, file: string, args: string[], profileDir?: string) {
  const nodeArgs = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : []
  const child = spawnNodeScript(name, script(file), args, { nodeArgs })
  const info = await child.ready()
  const ports = Array.isArray(info.ports) ? info.ports.map(Number) : undefined
  return { name, url: String(info.url), pid: child.proc.pid, child, ports }
}

/** The node:http upstream, one process listening on `ports` ports (3: enough for an upstream of 3 targets). */
export function startUpstream(ports = 3): Promise<RunningTarget> {
  return startNode('direct', 'upstream.ts', ['--ports', String(ports)])
}

export interface StartOptions {
  upstreamUrl: string
  /** Every port of the upstream process, for the data plane balancing over them. */
  upstreamPorts?: number[]
  /** Run node targets (not the upstream) with --cpu-prof, writing <target>.cpuprofile here on exit. */
  profileDir?: string
}

/** Starts one target; throws with the child's output when it cannot start. */
export async function startTarget(name: Exclude<TargetName, 'direct'>, o: StartOptions): Promise<RunningTarget> {
  const upstream = ['--upstream', o.upstreamUrl]
  // One proxy worker unless the target says otherwise: per-core figures compare one worker with one process.
  const oneWorker = ['--setting', 'worker_processes=1']
  switch (name) {
    case 'minimal-proxy':
      return startNode(name, 'minimal-proxy.ts', upstream, o.profileDir)
    case 'fastify-proxy':
      return startNode(name, 'fastify-proxy.ts', upstream, o.profileDir)
    case 'turnpike':
      return {
        ...(await startNode(name, 'turnpike-dp.ts', [...upstream, ...oneWorker, '--routes', '1'], o.profileDir)),
        detail: '1 route, 1 worker',
      }
    case 'turnpike-w2':
      return {
        ...(await startNode(
          name,
          'turnpike-dp.ts',
          [...upstream, '--setting', 'worker_processes=2', '--routes', '1'],
          o.profileDir,
        )),
        detail: '1 route, 2 workers',
      }
    case 'turnpike-upstream-3': {
      const ports = o.upstreamPorts ?? []
      if (ports.length < 3) throw new Error(`the upstream listens on ${ports.length} port(s), an upstream of 3 needs 3`)
      const targets = ports.slice(0, 3).map((p) => `127.0.0.1:${p}`)
      return {
        ...(await startNode(
          name,
          'turnpike-dp.ts',
          [...upstream, ...oneWorker, '--targets', targets.join(',')],
          o.profileDir,
        )),
        detail: '1 route, upstream of 3 targets (round-robin)',
      }
    }
    case 'turnpike-1k':
      return {
        ...(await startNode(name, 'turnpike-dp.ts', [...upstream, ...oneWorker, '--routes', '1000'], o.profileDir)),
        detail: '1,000 routes',
      }
    case 'nginx': {
      const bin = findNginx()
      if (!bin) throw new Error('nginx not installed: nginx baseline skipped (apt-get install nginx)')
      const n = await startNginx(bin, Number(new URL(o.upstreamUrl).port))
      return { name, url: n.url, pid: n.child.proc.pid, child: n.child, detail: `${n.version}, 1 worker` }
    }
  }
}
