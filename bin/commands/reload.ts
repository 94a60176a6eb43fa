/** `turnpike reload`: asks the node running under the prefix to re-read its settings and declarative file (SIGHUP). */
import { TurnpikeError } from '@turnpike/shared'
import { parseCommand } from './options.ts'
import { pidFilePath, runningPid } from './pid-file.ts'

const HELP = `Usage: turnpike reload [-c FILE]

Sends SIGHUP to the node running under the prefix (TURNPIKE_PREFIX or 'prefix' in the
config file; its pid is in <prefix>/pids/turnpike.pid). The node re-reads its settings
and declarative file: the proxy workers are replaced one generation at a time, on the
same listening ports, without dropping connections in flight.
`

export async function reloadCommand(args: string[]): Promise<number> {
  const { settings, help } = parseCommand(args)
  if (help) {
    process.stdout.write(HELP)
    return 0
  }
  const pid = runningPid(settings.prefix)
  if (pid === undefined)
    throw new TurnpikeError(
      'INVALID_OPTIONS',
      `no running node under prefix ${settings.prefix} (${pidFilePath(settings.prefix)})`,
    )
  process.kill(pid, 'SIGHUP')
  process.stdout.write(`reload signalled to pid ${pid}\n`)
  return 0
}
