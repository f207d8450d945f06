import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BIN_JITSSH, makeTempHome, removeTempHome, runCli, snapshotTree } from '../helpers/cli.js'

const SERVER = 'https://access.example.com'
let home: string

beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await removeTempHome(home)
})

const run = (...argv: string[]) => runCli(['ssh-config', ...argv], { home, network: 'none' })

describe('jitssh ssh-config', () => {
  it('prints the managed block on stdout and touches no file but the launcher it runs', async () => {
    const before = await snapshotTree(home)
    const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER)
    expect(r.code).toBe(0)
    const launcher = join(home, '.jitssh', 'bin', 'jitssh')
    expect(r.stdout).toContain('Match final host vm.example.com\n')
    expect(r.stdout).toContain(`ProxyCommand '${launcher}' ssh --server ${SERVER} --hostname '%h' --port %p\n`)
    expect(r.stdout).toContain(`Match final host vm.example.com user "*,!*'*" exec "'${launcher}' ssh-gen --server ${SERVER} --hostname '%h' --login '%r'"\n`)
    expect(r.stdout).toContain(`IdentityFile ${home}/.jitssh/certs/%h`)
    expect(r.stdout).toContain(`CertificateFile ${home}/.jitssh/certs/%h-cert.pub`)
    expect(r.stdout).toContain(`UserKnownHostsFile ~/.ssh/known_hosts ${home}/.jitssh/known_hosts`)
    expect(r.stderr).toBe(`Wrote ${launcher}, which this block runs (it finds jitssh after Node upgrades and reinstalls).\n`)
    const after = await snapshotTree(home)
    expect(Object.keys(after).filter((path) => !(path in before)).sort()).toEqual(['.jitssh/', '.jitssh/bin/', '.jitssh/bin/jitssh'])
    expect(after['.jitssh/bin/jitssh']).toMatch(/^file 755 /)
    const script = await readFile(launcher, 'utf8')
    expect(script).toContain(`node='${process.execPath}'\ncli='${BIN_JITSSH}'\n`)
    // Printing again changes nothing and says nothing.
    const again = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER)
    expect(again.stderr).toBe('')
    expect(await snapshotTree(home)).toEqual(after)
  })

  it('writes ~ paths when the jitssh home is under the home ssh expands ~ to', async () => {
    const r = await runCli(['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER], { home, network: 'none', sshHomedir: home })
    expect(r.stdout).toContain('IdentityFile ~/.jitssh/certs/%h\n')
  })

  it('uses JITSSH_HOME for the certificate paths', async () => {
    const r = await runCli(['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER], {
      home,
      network: 'none',
      env: { JITSSH_HOME: join(home, 'elsewhere') },
    })
    expect(r.stdout).toContain(`IdentityFile ${home}/elsewhere/certs/%h`)
  })

  it('takes host patterns', async () => {
    const r = await run('--hostname', '*.prod.example.com', '--short-lived-cert', '--server', SERVER)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Match final host *.prod.example.com\n')
  })

  it('needs a server: --server or a remembered default', async () => {
    const r = await run('--hostname', 'vm.example.com', '--short-lived-cert')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^jitssh: which server\?.*jitssh login --server/)
  })

  it('makes short-lived certificates without being asked (--short-lived-cert is the default, and still accepted)', async () => {
    const plain = await run('--hostname', 'vm.example.com', '--server', SERVER)
    expect(plain.code, plain.stderr).toBe(0)
    const flagged = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER)
    expect(plain.stdout).toBe(flagged.stdout)
    expect(plain.stdout).toContain('CertificateFile')
  })

  it('takes every --hostname given, not only the last', async () => {
    const printed = await run('--hostname', 'vm.example.com', '--hostname', 'db.example.com', '--server', SERVER)
    expect(printed.stdout).toContain('Match final host vm.example.com\n')
    expect(printed.stdout).toContain('Match final host db.example.com\n')
    const written = await run('--hostname', 'vm.example.com', '--hostname', 'db.example.com', '--server', SERVER, '--write')
    expect(written.code, written.stderr).toBe(0)
    const text = await readFile(join(home, '.ssh', 'config'), 'utf8')
    expect(text).toContain('# >>> jitssh vm.example.com >>>')
    expect(text).toContain('# >>> jitssh db.example.com >>>')
    const removed = await run('--hostname', 'vm.example.com', '--hostname', 'db.example.com', '--remove')
    expect(removed.code).toBe(0)
    expect(await readFile(join(home, '.ssh', 'config'), 'utf8')).toBe('')
  })

  it('refuses a server URL that could inject into the config', async () => {
    for (const bad of ["https://a.example.com/'x", 'https://a.example.com/%h', 'ftp://a.example.com', 'http://a.example.com', 'https://a.example.com x']) {
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', bad, '--write')
      expect(r.code, bad).toBe(2)
      expect(r.stderr, bad).toMatch(/^jitssh: invalid --server URL/)
    }
    expect(await snapshotTree(home)).toEqual({})
  })

  describe('--write', () => {
    it('creates ~/.ssh (0700) and the config (0600), then changes nothing on a second run', async () => {
      const first = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(first.code).toBe(0)
      expect(first.stdout).toBe('')
      expect(first.stderr).toContain('Created')
      const file = join(home, '.ssh', 'config')
      expect((await stat(join(home, '.ssh'))).mode & 0o777).toBe(0o700)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      const text = await readFile(file, 'utf8')
      expect(text).toContain('# >>> jitssh vm.example.com >>>')
      const snapshot = await snapshotTree(home)
      const second = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(second.code).toBe(0)
      expect(second.stderr).toContain('nothing changed')
      expect(await snapshotTree(home)).toEqual(snapshot) // no backup, no rewrite (same mtime)
    })

    it('keeps every other byte, the mode, and a one-time backup of the original', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      const file = join(home, '.ssh', 'config')
      const original = 'Host other\r\n    User bob\n\n# my comment\nHost *\n    ServerAliveInterval 30\n'
      await writeFile(file, original)
      await chmod(file, 0o640)
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(`original kept in ${file}.jitssh-backup`)
      const text = await readFile(file, 'utf8')
      expect((await stat(file)).mode & 0o777).toBe(0o640)
      expect(await readFile(`${file}.jitssh-backup`, 'utf8')).toBe(original)
      // Our block comes before the first Host line; the rest is untouched.
      expect(text.indexOf('# >>> jitssh')).toBeLessThan(text.indexOf('Host other'))
      expect(text.endsWith(original)).toBe(true)

      // A second host: the backup (the original) is not overwritten.
      await run('--hostname', 'db.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(await readFile(`${file}.jitssh-backup`, 'utf8')).toBe(original)
      const both = await readFile(file, 'utf8')
      expect(both).toContain('# >>> jitssh db.example.com >>>')
      expect(both).toContain('# >>> jitssh vm.example.com >>>')

      // --remove takes out exactly our blocks again.
      expect((await run('--hostname', 'vm.example.com', '--remove')).code).toBe(0)
      expect((await run('--hostname', 'db.example.com', '--remove')).code).toBe(0)
      expect(await readFile(file, 'utf8')).toBe(original)
      expect((await stat(file)).mode & 0o777).toBe(0o640)
    })

    it('writes through a symlinked config to its target', async () => {
      await mkdir(join(home, 'dotfiles'))
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      await writeFile(join(home, 'dotfiles', 'ssh_config'), 'Host x\n')
      await symlink(join(home, 'dotfiles', 'ssh_config'), join(home, '.ssh', 'config'))
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(r.code).toBe(0)
      expect(await readFile(join(home, 'dotfiles', 'ssh_config'), 'utf8')).toContain('# >>> jitssh vm.example.com >>>')
    })

    it('honours --config relative to the working directory', async () => {
      const r = await runCli(['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write', '--config', 'my_config'], { home, network: 'none', cwd: home })
      expect(r.code).toBe(0)
      expect(await readFile(join(home, 'my_config'), 'utf8')).toContain('Match final host vm.example.com')
    })

    it('refuses, changing nothing, when the ssh on this machine would reject the new file (OpenSSH < 8.2 has no Match final)', async () => {
      // A stand-in for OpenSSH 8.1 first on PATH: it parses everything but `Match final`, as that version did.
      const bin = join(home, 'old-openssh')
      await mkdir(bin)
      await writeFile(
        join(bin, 'ssh'),
        '#!/bin/sh\nif grep -q "^Match final" "$3"; then\n  echo "Unsupported Match attribute final" >&2\n  echo "$3 line 3: Bad Match condition" >&2\n  exit 255\nfi\nexit 0\n',
        { mode: 0o755 },
      )
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      await writeFile(join(home, '.ssh', 'config'), 'Host other\n    User me\n')
      const before = await snapshotTree(home)
      const r = await runCli(['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write'], {
        home,
        network: 'none',
        env: { PATH: `${bin}:${process.env.PATH}` },
      })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^jitssh: the ssh on this machine would reject .*config with the jitssh block: Unsupported Match attribute final/)
      expect(r.stderr).toMatch(/OpenSSH 8\.2 or later/)
      expect(r.stderr).toContain(`${join(home, '.ssh', 'config')} line 3: Bad Match condition`) // the user's file, not our temp file
      expect(await snapshotTree(home)).toEqual(before) // no change, no backup, no temp file
    })

    it("says so when ssh already rejects the user's own file, and changes nothing", async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      await writeFile(join(home, '.ssh', 'config'), 'Host other\n    NoSuchOption yes\n')
      const before = await snapshotTree(home)
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^jitssh: ssh already rejects .*config: .*line 2: Bad configuration option: nosuchoption/)
      expect(await snapshotTree(home)).toEqual(before)
    })

    it('refuses a garbled file (unbalanced markers) with one line and changes nothing', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      const file = join(home, '.ssh', 'config')
      await writeFile(file, '# >>> jitssh vm.example.com >>>\nMatch final host vm.example.com\nHost other\n')
      const before = await snapshotTree(home)
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write')
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^jitssh: .*config/)
      expect(await snapshotTree(home)).toEqual(before)
      const removal = await run('--hostname', 'vm.example.com', '--remove')
      expect(removal.code).toBe(1)
      expect(await snapshotTree(home)).toEqual(before)
    })

    it('printing: warns when the user config already sets a ProxyJump for the host', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      await writeFile(join(home, '.ssh', 'config'), 'Host vm.example.com\n    ProxyJump bastion.example.com\n')
      const r = await run('--hostname', 'vm.example.com', '--server', SERVER)
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(/warning: .*ProxyJump bastion\.example\.com.*first value/)
    })

    it('--write: refuses, changing nothing, when the real ssh -G would not go through jitssh, naming the file and line (an Include too)', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      const file = join(home, '.ssh', 'config')
      const included = join(home, '.ssh', 'corp.conf')
      await writeFile(included, '# the company\'s file\nHost *.example.com\n    ProxyJump bastion.corp.example.com\n')
      await writeFile(file, `Include ${included}\nHost other\n    User me\n`)
      const before = await snapshotTree(home)
      const r = await run('--hostname', 'vm.example.com', '--server', SERVER, '--write')
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        `jitssh: ssh vm.example.com would not go through jitssh: "ProxyJump bastion.corp.example.com" in ${included} line 3 (Host *.example.com) comes first, and ssh keeps the first value it reads ` +
          '(remove that ProxyJump for vm.example.com (or exclude the host from its pattern, e.g. "Host *.example.com !vm.example.com"); nothing was changed)\n',
      )
      expect(await snapshotTree(home)).toEqual(before) // the original content, and no backup left behind
      // Excluded as the message says, the block goes in.
      await writeFile(included, 'Host *.example.com !vm.example.com\n    ProxyJump bastion.corp.example.com\n')
      expect((await run('--hostname', 'vm.example.com', '--server', SERVER, '--write')).code).toBe(0)
    })

    it('--write: a HostName that renames the host keeps the block from matching: refused, naming it', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      await writeFile(join(home, '.ssh', 'config'), 'Host vm.example.com\n    HostName 10.0.0.5\n')
      const r = await run('--hostname', 'vm.example.com', '--server', SERVER, '--write')
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^jitssh: vm\.example\.com is an alias for 10\.0\.0\.5 \("HostName 10\.0\.0\.5" in .*config line 2 \(Host vm\.example\.com\)\)/)
    })

    it('an alias (--hostname myvm, where Host myvm has HostName vm.example.com): says so and names the HostName to use', async () => {
      await mkdir(join(home, '.ssh'), { mode: 0o700 })
      const file = join(home, '.ssh', 'config')
      await writeFile(file, 'Host myvm\n    HostName vm.example.com\n')
      const before = await snapshotTree(home)
      for (const extra of [[], ['--write']]) {
        const r = await run('--hostname', 'myvm', '--server', SERVER, ...extra)
        expect(r.code).toBe(2)
        expect(r.stdout).toBe('')
        expect(r.stderr).toBe(
          `jitssh: myvm is an alias for vm.example.com ("HostName vm.example.com" in ${file} line 2 (Host myvm)): jitssh's block is matched against the name ssh connects to, so a block for myvm would never apply ` +
            '(jitssh ssh-config --hostname vm.example.com (ssh myvm then goes through jitssh too))\n',
        )
      }
      expect(await snapshotTree(home)).toEqual(before)
    })

    it('--write and --remove together is a usage error', async () => {
      const r = await run('--hostname', 'vm.example.com', '--short-lived-cert', '--server', SERVER, '--write', '--remove')
      expect(r.code).toBe(2)
    })

    it('--remove without a file or block changes nothing', async () => {
      const r = await run('--hostname', 'vm.example.com', '--remove')
      expect(r.code).toBe(0)
      expect(r.stderr).toContain('nothing changed')
      expect(await snapshotTree(home)).toEqual({})
    })
  })

  describe('hostile --hostname values', () => {
    const hostile = ['vm\nProxyCommand evil', '../x', 'a b', '%h', '"q"', "'q'", '-oProxyCommand=x', 'a/b', 'vm.example.com\r', '', '*', 'a;b', '$(x)', 'x`y`']
    for (const value of hostile) {
      it(`refuses ${JSON.stringify(value)} with exit 2 before touching any file`, async () => {
        await mkdir(join(home, '.ssh'), { mode: 0o700 })
        await writeFile(join(home, '.ssh', 'config'), 'Host x\n')
        const before = await snapshotTree(home)
        for (const extra of [['--write'], ['--remove'], []]) {
          const r = await run(`--hostname=${value}`, '--short-lived-cert', '--server', SERVER, ...extra)
          expect(r.code, `${JSON.stringify(value)} ${extra.join(' ')}`).toBe(2)
          expect(r.stderr.trim().split('\n')).toHaveLength(1)
          expect(r.stdout).toBe('')
        }
        expect(await snapshotTree(home)).toEqual(before)
      })
    }
  })
})
