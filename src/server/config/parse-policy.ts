import { checkPrincipalTemplate } from '../policy/principals.js'
import type { ConfigNode } from './config-node.js'
import { CERTIFICATE_EXTENSIONS, DEFAULT_EXTENSIONS, cidrList, hostName, parseMemberList, parseSourceAddress } from './parse-sections.js'
import type { MemberList, PolicyRule, RequestRule, RuleConditions, TimeWindow } from './types.js'

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
const WEEK = [0, 1, 2, 3, 4, 5, 6]

/**
 * One `policy:` entry. Allow rules (the default) need principals; deny rules match who and which hosts (and
 * their conditions) and refuse, whatever the allow rules say.
 */
export function parsePolicyRule(node: ConfigNode, index: number, defaultTtlMs: number, serviceAccounts: ReadonlySet<string> = new Set()): PolicyRule {
  node.onlyKeys(['name', 'effect', 'users', 'groups', 'email_domains', 'service_accounts', 'hosts', 'principals', 'max_ttl', 'extensions', 'source_address', 'when', 'request', 'record_input'])
  const effectNode = node.child('effect')
  const effectText = effectNode.string('allow')
  if (effectText !== 'allow' && effectText !== 'deny') return effectNode.fail('expected allow or deny')
  const effect: PolicyRule['effect'] = effectText
  const users = node.child('users').stringList()
  const groups = node.child('groups').stringList()
  const emailDomains = node.child('email_domains').stringList().map((domain) => domain.toLowerCase().replace(/^@/, ''))
  const accountsNode = node.child('service_accounts')
  const accounts = accountsNode.stringList()
  accounts.forEach((name, i) => {
    if (!serviceAccounts.has(name)) accountsNode.list()[i]!.fail(`no service account named "${name}" (see service_accounts)`)
  })
  if (users.length + groups.length + emailDomains.length + accounts.length === 0) node.fail('needs at least one of users, groups, email_domains or service_accounts')
  const hosts = node.child('hosts').list().map((host) => hostName(host, true))
  if (hosts.length === 0) node.child('hosts').fail('list at least one host name or pattern')
  const principalNodes = node.child('principals').list()
  if (effect === 'allow' && principalNodes.length === 0) node.child('principals').fail('list at least one principal (e.g. "{email_local}")')
  if (effect === 'deny') {
    for (const key of ['principals', 'max_ttl', 'extensions', 'source_address', 'request', 'record_input']) {
      if (!node.child(key).missing) node.child(key).fail('has no meaning in a deny rule (it grants nothing)')
    }
  }
  const principals = principalNodes.map((principal) => {
    const text = principal.string()
    const problem = checkPrincipalTemplate(text)
    if (problem) principal.fail(problem)
    return text
  })
  const extensionsNode = node.child('extensions')
  const extensions = extensionsNode.missing ? DEFAULT_EXTENSIONS : extensionsNode.stringList()
  extensions.forEach((extension, i) => {
    if (!(CERTIFICATE_EXTENSIONS as readonly string[]).includes(extension)) {
      extensionsNode.list()[i]!.fail(`unknown extension "${extension}" (one of: ${CERTIFICATE_EXTENSIONS.join(', ')})`)
    }
  })
  return {
    name: node.child('name').string(`policy[${index}]`),
    effect,
    when: parseConditions(node.child('when')),
    users: users.map((user) => user.toLowerCase()),
    groups,
    emailDomains,
    serviceAccounts: [...new Set(accounts)],
    hosts,
    principals,
    maxTtlMs: node.child('max_ttl').duration(defaultTtlMs, { min: 60_000, max: 7 * 86_400_000 }),
    extensions: [...new Set(extensions)],
    sourceAddress: parseSourceAddress(node.child('source_address')),
    request: parseRequestRule(node.child('request')),
    recordInput: node.child('record_input').boolean(false),
  }
}

/**
 * `request:` on an allow rule:
 *   max_duration: 4h          the longest use window to ask for (it starts at approval)
 *   pending_for: 24h          undecided requests expire after this
 *   claim_within: 1h          an approved request not used within this expires
 *   reason: required          or optional; reason_prompt: "Ticket and what you will do"
 *   approvals: 1              from distinct approvers, never the requester
 *   approvers: { users: [...], groups: [...] }
 *   auto_approve: { when: {...} }   conditions (as a rule's `when`) under which no approver is needed
 *   break_glass: { users: [...], groups: [...] }   may take it without approval, with a reason
 */
function parseRequestRule(node: ConfigNode): RequestRule | undefined {
  if (node.missing) return undefined
  node.onlyKeys(['max_duration', 'pending_for', 'claim_within', 'reason', 'reason_prompt', 'approvals', 'approvers', 'auto_approve', 'break_glass'])
  const reasonNode = node.child('reason')
  const reason = reasonNode.string('required')
  if (reason !== 'required' && reason !== 'optional') reasonNode.fail('expected required or optional')
  const approvers = parsePeople(node.child('approvers')) ?? node.child('approvers').fail('is required: who approves (users and/or groups); the requester never counts')
  const autoApprove = node.child('auto_approve').onlyKeys(['when'])
  if (!autoApprove.missing && autoApprove.child('when').missing) autoApprove.child('when').fail('is required: the conditions under which a request is approved without an approver')
  const prompt = node.child('reason_prompt').optionalString()
  if (prompt !== undefined && prompt.length > 200) node.child('reason_prompt').fail('must be at most 200 characters')
  return {
    maxDurationMs: node.child('max_duration').duration(4 * 3_600_000, { min: 60_000, max: 30 * 86_400_000 }),
    pendingForMs: node.child('pending_for').duration(24 * 3_600_000, { min: 60_000, max: 30 * 86_400_000 }),
    claimWithinMs: node.child('claim_within').duration(3_600_000, { min: 10_000, max: 7 * 86_400_000 }),
    reasonRequired: reason === 'required',
    reasonPrompt: prompt,
    approvals: node.child('approvals').integer(1, 1, 10),
    approvers,
    autoApprove: autoApprove.missing ? undefined : parseConditions(autoApprove.child('when')),
    breakGlass: parsePeople(node.child('break_glass')),
  }
}

/** `{users: [...], groups: [...]}` with at least one entry; undefined when missing. */
function parsePeople(node: ConfigNode): MemberList | undefined {
  if (node.missing) return undefined
  const people = parseMemberList(node)
  if (people.users.length + people.groups.length === 0) node.fail('list at least one of users or groups')
  return people
}

function parseConditions(node: ConfigNode): RuleConditions | undefined {
  if (node.missing) return undefined
  node.onlyKeys(['source_networks', 'days', 'hours', 'time_zone', 'max_auth_age', 'amr', 'acr'])
  const conditions: RuleConditions = {}
  const networks = cidrList(node.child('source_networks'))
  if (networks) conditions.sourceNetworks = networks
  const window = parseTimeWindow(node)
  if (window) conditions.window = window
  if (!node.child('max_auth_age').missing) conditions.maxAuthAgeMs = node.child('max_auth_age').duration(0, { min: 1_000, max: 30 * 86_400_000 })
  for (const key of ['amr', 'acr'] as const) {
    const values = node.child(key).missing ? undefined : node.child(key).stringList()
    if (values !== undefined && values.length === 0) node.child(key).fail('must not be empty (leave it out instead)')
    if (values) conditions[key] = values
  }
  if (Object.keys(conditions).length === 0) node.fail('has no conditions (leave it out instead)')
  return conditions
}

/** `days: [mon-fri, sat]`, `hours: ["08:00-18:00", "22:00-02:00"]`, `time_zone: Europe/Berlin` (default UTC). */
function parseTimeWindow(node: ConfigNode): TimeWindow | undefined {
  const daysNode = node.child('days')
  const hoursNode = node.child('hours')
  const zoneNode = node.child('time_zone')
  if (daysNode.missing && hoursNode.missing) {
    if (!zoneNode.missing) zoneNode.fail('goes with days or hours')
    return undefined
  }
  const timeZone = zoneNode.string('UTC')
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
  } catch {
    zoneNode.fail(`"${timeZone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`)
  }
  const days = daysNode.missing ? WEEK : [...new Set(daysNode.list().flatMap((day) => parseDays(day)))].sort()
  const hourNodes = hoursNode.missing ? [] : typeof hoursNode.value === 'string' ? [hoursNode] : hoursNode.list()
  const hours = hourNodes.length === 0 ? [{ start: 0, end: 24 * 60 }] : hourNodes.map(parseHours)
  const text = [daysNode.missing ? '' : daysNode.list().map((day) => day.string()).join(','), hourNodes.map((hour) => hour.string()).join(','), timeZone]
    .filter((part) => part !== '').join(' ')
  return { days, hours, timeZone, text }
}

function parseDays(node: ConfigNode): number[] {
  const text = node.string().toLowerCase()
  const day = (name: string): number => {
    const index = DAY_NAMES.indexOf(name.slice(0, 3) as (typeof DAY_NAMES)[number])
    if (index < 0 || !/^[a-z]{3,9}$/.test(name)) node.fail(`"${text}" is not a day (mon, tue, wed, thu, fri, sat, sun) or a range like mon-fri`)
    return index
  }
  const [from, to, ...rest] = text.split('-')
  if (rest.length > 0 || from === undefined) node.fail(`"${text}" is not a day or a range like mon-fri`)
  if (to === undefined) return [day(from)]
  const out: number[] = []
  for (let d = day(from); ; d = (d + 1) % 7) {
    out.push(d)
    if (d === day(to)) return out
  }
}

function parseHours(node: ConfigNode): { start: number; end: number } {
  const text = node.string()
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim())
  const minutes = (h: string, m: string): number => Number(h) * 60 + Number(m)
  if (!match || Number(match[2]) > 59 || Number(match[4]) > 59 || Number(match[1]) > 23 || minutes(match[3]!, match[4]!) > 24 * 60) {
    node.fail(`"${text}" is not a range of hours like "08:00-18:00" (24-hour clock; "22:00-06:00" crosses midnight)`)
  }
  const start = minutes(match[1]!, match[2]!)
  const end = minutes(match[3]!, match[4]!)
  if (start === end) node.fail(`"${text}" is empty`)
  return { start, end }
}
