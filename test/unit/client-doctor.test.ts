// The doctor's pure parts: how ssh's -vvv output of a failed `ssh host true` is translated into a cause, how
// clock skew is judged, and the report (order, cause, exit code). The checks on a real setup: test/e2e/doctor.test.ts.
import { describe, expect, it } from 'vitest'
import { buildReport, fail, pass, warn } from '../../src/client/doctor/report.js'
import { checkClock } from '../../src/client/doctor/server-checks.js'
import { translate } from '../../src/client/doctor/ssh-trial.js'
import { absolutePaths } from '../../src/client/doctor/local-checks.js'

describe('translating ssh -vvv', () => {
  const run = (lines: string[], code: number | null = 255) => translate(code, lines, 'vm.example.com', 'deploy')

  it.each<[string, string[], string]>([
    ['a jitssh line is the cause as it stands', ['debug1: Executing command', 'jitssh: your session at https://a.example.com has ended (session has been revoked) (run: jitssh login)'], 'ssh.jitssh'],
    ['Permission denied after offering the certificate: the target refused it', ['debug1: Offering public key: /h/.jitssh/certs/vm.example.com ED25519-CERT SHA256:x explicit', 'deploy@vm.example.com: Permission denied (publickey).'], 'ssh.certificate_refused'],
    ['Permission denied with no certificate offered', ['deploy@vm.example.com: Permission denied (publickey).'], 'ssh.no_certificate'],
    ['host key verification', ['Host key verification failed.'], 'ssh.host_key'],
    ['MaxAuthTries', ['Received disconnect from UNKNOWN port 65535:2: Too many authentication failures'], 'ssh.too_many_keys'],
    ['the ProxyCommand failing before SSH', ['kex_exchange_identification: Connection closed by remote host'], 'ssh.closed'],
    ['anything else: its last line', ['something unheard of'], 'ssh.failed'],
  ])('%s', (_name, lines, cause) => {
    const result = run(lines)
    expect(result).toMatchObject({ id: 'ssh', status: 'fail', cause })
    expect(result.summary).not.toMatch(/[\r\n]/)
  })

  it('exit 0 is a pass; a jitssh line keeps its fix', () => {
    expect(run([], 0)).toMatchObject({ status: 'pass' })
    expect(run(['jitssh: you may log in to vm.example.com as root, not as deploy (run: ssh root@vm.example.com)']).fix).toBe('run: ssh root@vm.example.com')
  })
})

describe('clock skew', () => {
  const sample = (skewMs: number, rttMs = 20) => ({ sentAt: 1_000_000, receivedAt: 1_000_000 + rttMs, serverTime: 1_000_000 + rttMs / 2 - skewMs, coarse: false })
  it('passes within 10 s, warns up to a minute, fails beyond, saying which way', () => {
    expect(checkClock(sample(3_000)).status).toBe('pass')
    expect(checkClock(sample(30_000))).toMatchObject({ status: 'warn', cause: 'clock.skew', summary: "this machine's clock is 30 s ahead of the server's" })
    expect(checkClock(sample(-600_000))).toMatchObject({ status: 'fail', cause: 'clock.skew', summary: "this machine's clock is 10 min behind the server's" })
    expect(checkClock(null).status).toBe('skip')
  })
})

describe('the report', () => {
  it('orders the checks, names the first failure as the cause, and exits 4 only for the session', () => {
    const report = buildReport({ server: 's', host: 'h', login: 'l' }, [
      fail('route', 'route.shadowed', 'shadowed', 'remove it'),
      pass('server', 'ok'),
      warn('clock', 'clock.skew', 'a bit off', 'ntp'),
    ])
    expect(report.checks.map((check) => check.id).slice(0, 5)).toEqual(['server', 'session', 'clock', 'openssh', 'route'])
    expect(report.checks[1]).toMatchObject({ id: 'session', status: 'skip' })
    expect(report.cause).toEqual({ check: 'route', cause: 'route.shadowed', summary: 'shadowed', fix: 'remove it' })
    expect(report.exit_code).toBe(1)
    expect(buildReport({ server: 's', host: null, login: null }, [fail('session', 'session.ended', 'ended', 'jitssh login')]).exit_code).toBe(4)
    expect(buildReport({ server: 's', host: null, login: null }, [pass('server', 'ok'), warn('clock', 'clock.skew', 'off', 'ntp')])).toMatchObject({ cause: null, exit_code: 0 })
  })
})

describe('the programs a block names', () => {
  it('reads the absolute paths from its commands, quoted or not, leaving %-tokens and options alone', () => {
    expect(absolutePaths("'/usr/bin/node' '/opt/my dir/it'\\''s/jitssh.js' ssh --server https://a.example.com --hostname '%h' --port %p")).toEqual(['/usr/bin/node', "/opt/my dir/it's/jitssh.js"])
    expect(absolutePaths("/usr/local/bin/jitssh ssh-gen --login 'root'")).toEqual(['/usr/local/bin/jitssh'])
  })
})
