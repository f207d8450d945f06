// How a refusal from the server becomes one line: whatever the error body holds (issue 18). A `message` that
// is not a string threw a TypeError ("internal error: text.split is not a function").
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { sendJson, useFakeJitssh } from '../helpers/fake-jitssh.js'

const t = useFakeJitssh({ loggedIn: true })

describe('an error body with fields of the wrong type', () => {
  it.each([
    [403, { error: 'ERR_POLICY_DENIED', message: 42 }, /^jitssh: access to vm\.example\.com denied: denied by policy \(see: jitssh explain vm\.example\.com\)\n$/],
    [403, { error: 'ERR_POLICY_DENIED', message: ['a'], error_description: 'no rule for you' }, /^jitssh: access to vm\.example\.com denied: no rule for you \(see: jitssh explain vm\.example\.com\)\n$/],
    [400, { error: { nested: true }, message: null }, /^jitssh: request rejected by http:\/\/127\.0\.0\.1:\d+ \(HTTP 400\)\n$/],
    [500, { message: { text: 'boom' }, error: 'ERR_SERVER' }, /^jitssh: server error from http:\/\/127\.0\.0\.1:\d+ \(HTTP 500\): ERR_SERVER\n$/],
    // A hint that is not exactly a request command is dropped: the server does not get to print anything else.
    [403, { error: 'ERR_POLICY_DENIED', message: 'no', hint: 'ask: jitssh request create --host x --login y --duration 1h\u001b[2J' }, /^jitssh: access to vm\.example\.com denied: no \(see: jitssh explain vm\.example\.com\)\n$/],
    [403, { error: 'ERR_POLICY_DENIED', message: 'no', hint: 'ask: jitssh request create --host vm.example.com --login deploy --duration 1h' }, /^jitssh: access to vm\.example\.com denied: no \(ask: jitssh request create --host vm\.example\.com --login deploy --duration 1h\)\n$/],
  ])('HTTP %i %j: one line', async (status, body, expected) => {
    t.fake.routes.set('/v1/ssh/sign', (_req, res) => sendJson(res, status, body))
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home: t.home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(expected)
  })

  it('HTTP 401 {"message":7,"error":7} from /v1/me: status says not logged in', async () => {
    t.fake.routes.set('/v1/me', (_req, res) => sendJson(res, 401, { message: 7, error: 7 }))
    const r = await runCli(['status'], { home: t.home })
    expect(r.code).toBe(4)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^Logged in: {4}no \(run: jitssh login\)$/m)
  })
})
