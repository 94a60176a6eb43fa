/** CPU time of a process and its descendants from /proc (Linux); undefined elsewhere. */
import { readFileSync } from 'node:fs'

const TICKS_PER_SEC = 100 // USER_HZ is 100 on every Linux the bench runs on.

function descendants(pid: number): number[] {
  const out = [pid]
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    for (const c of children ? children.split(/\s+/) : []) out.push(...descendants(Number(c)))
  } catch {}
  return out
}

/** user+system seconds consumed so far by `pid` and its children (nginx's worker, taskset's exec). */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  let ticks = 0
  try {
    for (const p of descendants(pid)) {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
    }
  } catch {
    return undefined
  }
  return ticks / TICKS_PER_SEC
}

/** CPU seconds of this process's exited, waited-for children — the load generator runs as one per measurement. */
export function reapedChildrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SEC // cutime, cstime
  } catch {
    return undefined
  }
}

/** Busy CPU seconds of the whole machine, all cores, steal included (/proc/stat). */
export function machineBusySeconds(): number | undefined {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .split(/\s+/)
      .map(Number)
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SEC
  } catch {
    return undefined
  }
}
