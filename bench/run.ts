/**
 * Benchmark entry point: `npm run bench -- <suite> [options]` (node bench/run.ts).
 * Each suite measures Turnpike against baselines in the same run and prints ratios; JSON goes to bench/results.
 */
import { parseArgs } from 'node:util'
import type { LoadGeneratorChoice } from './lib/load/index.ts'
import type { BenchOptions, Suite } from './lib/options.ts'
import { stopAll } from './lib/processes.ts'
import { writeResults } from './lib/results.ts'
import { balancerSuite } from './suites/balancer.ts'
import { clusterSuite } from './suites/cluster.ts'
import { pluginsSuite } from './suites/plugins.ts'
import { proxySuite } from './suites/proxy.ts'
import { routerSuite } from './suites/router.ts'

/** Registered suites. `plugins` and `cluster` land here when their issues add them. */
const SUITES: Record<string, Suite | undefined> = {
  proxy: proxySuite,
  router: routerSuite,
  plugins: pluginsSuite,
  cluster: clusterSuite,
  balancer: balancerSuite,
}

const HELP = `Usage: npm run bench -- <suite> [options]
       node bench/run.ts <suite> [options]

Suites:
${Object.entries(SUITES)
  .map(([name, s]) => `  ${name.padEnd(10)}${s ? s.summary : '(not written yet)'}`)
  .join('\n')}

Options:
  --duration SEC      seconds per measurement (default 10; --quick: 3)
  --warmup SEC        discarded warm-up before each measurement (default 2)
  --connections N     concurrent connections for max-throughput runs (default 50)
  --repeat N          measured runs per target and scenario, keeping the one least disturbed by other
                      load on the machine (default 1; useful on a shared box)
  --quick             short runs for a first look (3 s per measurement)
  --loadgen NAME      auto (wrk if installed, else autocannon), wrk, autocannon (default auto)
  --scenario A,B      only these scenarios (proxy: small-keepalive, upstream-3, 1k-routes,
                      64k-keepalive, small-close, half-load; router: 10, 1000, 10000,
                      10000-noregex; plugins: key-auth, key-auth+acl, jwt-hs256, jwt-rs256,
                      key-auth+rate-limiting+prometheus; cluster: propagation-10,
                      streams-1000, scale; balancer: failover-active, failover-passive,
                      apply-1k-upstreams)
  --target A,B        only these targets (proxy: direct, minimal-proxy, fastify-proxy, nginx, turnpike;
                      plugins: consumer counts 1, 100000)
  --cpu-prof          run the node targets (data plane, minimal and fastify proxies) with --cpu-prof;
                      profiles in bench/results/profiles/proxy-<time>/<target>.cpuprofile
  -h, --help          this help

Results print as tables with ratios against baselines measured in the same run, and are written
to bench/results/<suite>-<timestamp>.json. Everything listens on 127.0.0.1; children are stopped on
exit and on Ctrl-C. Figures are for comparison within one run; the bench never fails on timing.
`

function list(v: string | undefined): string[] | undefined {
  return v ? v.split(',').map((s) => s.trim()) : undefined
}

function positive(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got '${v}'`)
  return n
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      repeat: { type: 'string' },
      quick: { type: 'boolean', default: false },
      loadgen: { type: 'string', default: 'auto' },
      scenario: { type: 'string' },
      target: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const name = positionals[0]
  if (values.help || !name) {
    process.stdout.write(HELP)
    return values.help ? 0 : 1
  }
  if (!(name in SUITES)) {
    process.stderr.write(`bench: unknown suite '${name}'\n\n${HELP}`)
    return 1
  }
  const suite = SUITES[name]
  if (!suite) {
    process.stderr.write(`bench: the '${name}' suite is not written yet\n`)
    return 1
  }
  if (!['auto', 'wrk', 'autocannon'].includes(values.loadgen)) throw new Error(`--loadgen: auto, wrk or autocannon`)
  const opts: BenchOptions = {
    durationSec: positive('duration', values.duration, values.quick ? 3 : 10),
    warmupSec: positive('warmup', values.warmup, 2, 0),
    connections: positive('connections', values.connections, 50),
    repeat: positive('repeat', values.repeat, 1),
    quick: values.quick,
    loadgen: values.loadgen as LoadGeneratorChoice,
    scenarios: list(values.scenario),
    targets: list(values.target),
    cpuProf: values['cpu-prof'],
    resultsDir: decodeURIComponent(new URL('./results', import.meta.url).pathname),
  }
  const startedAt = new Date().toISOString()
  const result = await suite.run(opts)
  process.stdout.write(`\n${result.text}\n`)
  const file = writeResults(opts.resultsDir, suite.name, {
    suite: suite.name,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    options: opts,
    ...result.data,
  })
  process.stdout.write(`\nresults: ${file}\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`)
    await stopAll()
    process.exitCode = 1
  },
)
