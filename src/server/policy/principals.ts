/**
 * Principal templates in policy rules: a literal unix account (`deploy`) or a template built from the
 * identity: `{email_local}` (the part of the email before @) and `{username}` (the login name; for OIDC the
 * configured username claim, else the email's local part). Whatever a template yields must still be a
 * valid unix account name, or it is dropped.
 */
export const PRINCIPAL_PLACEHOLDERS = ['email_local', 'username'] as const
export type PrincipalPlaceholder = (typeof PRINCIPAL_PLACEHOLDERS)[number]

const UNIX_ACCOUNT = /^[a-z_][a-z0-9_.-]{0,31}$/

export function isUnixAccountName(name: string): boolean {
  return UNIX_ACCOUNT.test(name)
}

/** A sentence naming the problem, or undefined when the template is fine. */
export function checkPrincipalTemplate(template: string): string | undefined {
  const placeholders = [...template.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]!)
  const unknown = placeholders.find((name) => !(PRINCIPAL_PLACEHOLDERS as readonly string[]).includes(name))
  if (unknown !== undefined) return `unknown placeholder {${unknown}} (use {email_local} or {username})`
  const sample = template.replace(/\{[^}]*\}/g, 'x')
  if (!isUnixAccountName(sample)) return `"${template}" is not a unix account name (lower-case letters, digits, _ . -; at most 32)`
  return undefined
}

export interface PrincipalSource {
  email: string
  username: string
}

/**
 * The rendered principal, lower-cased, or undefined when the result is not a valid account name, or when a
 * template (not a literal the rule's author wrote) yields one of `forbidden` (root, or the configured
 * `certificates.forbidden_principals`): a person who names themselves "root" at their provider gets nothing.
 */
export function renderPrincipal(template: string, identity: PrincipalSource, forbidden: readonly string[] = ['root']): string | undefined {
  const values: Record<PrincipalPlaceholder, string> = {
    email_local: identity.email.split('@')[0] ?? '',
    username: identity.username,
  }
  const isTemplate = /\{(email_local|username)\}/.test(template)
  const rendered = template.replace(/\{(email_local|username)\}/g, (_, name: PrincipalPlaceholder) => values[name]).toLowerCase()
  if (!isUnixAccountName(rendered)) return undefined
  return isTemplate && (rendered === 'root' || forbidden.includes(rendered)) ? undefined : rendered
}
