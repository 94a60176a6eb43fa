/** The slice of autocannon's (untyped) API the bench uses. */
declare module 'autocannon' {
  export interface Histogram {
    average: number
    max: number
    p50: number
    p90: number
    p99: number
    total?: number
  }
  export interface Options {
    url: string
    connections?: number
    duration?: number
    timeout?: number
    headers?: Record<string, string>
    requests?: { method?: string; path?: string; headers?: Record<string, string> }[]
    overallRate?: number
  }
  export interface Result {
    requests: Histogram
    latency: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
  }
  function autocannon(opts: Options): Promise<Result>
  export default autocannon
}
