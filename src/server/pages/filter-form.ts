import { html, type SafeHtml } from './html.js'

export interface FilterField {
  name: string
  label: string
  placeholder: string
}

/** The filters a list page was asked for (`?user=&host=...`), as given: shown again in its form. */
export function filterValues<N extends string>(query: object, names: readonly N[]): Record<N, string> {
  const given = query as Record<string, unknown>
  return Object.fromEntries(names.map((name) => [name, typeof given[name] === 'string' ? (given[name] as string).slice(0, 200) : ''])) as Record<N, string>
}

/** A GET form of text filters (no CSRF token: it changes nothing, and a token would land in URLs and logs). */
export function renderFilterForm(action: string, fields: readonly FilterField[], values: Record<string, string>): SafeHtml {
  return html`<form method="get" action="${action}" class="filters">
${fields.map((field) => html`<div><label for="${field.name}">${field.label}</label><input id="${field.name}" name="${field.name}" value="${values[field.name] ?? ''}" placeholder="${field.placeholder}"></div>`)}
<button type="submit">Search</button></form>`
}

export const USER_FILTER: FilterField = { name: 'user', label: 'User', placeholder: 'alice@example.com' }
export const HOST_FILTER: FilterField = { name: 'host', label: 'Host', placeholder: 'vm.example.com' }
export const SINCE_FILTER: FilterField = { name: 'since', label: 'Since', placeholder: '2026-11-19T14:00Z' }
export const UNTIL_FILTER: FilterField = { name: 'until', label: 'Until', placeholder: '2026-11-20' }
