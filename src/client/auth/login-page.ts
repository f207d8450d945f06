// The page the browser shows after it is sent back to the CLI's loopback listener.
export function callbackPage(kind: 'ok' | 'error', message: string): string {
  const title = kind === 'ok' ? 'Logged in' : 'Login failed'
  const colour = kind === 'ok' ? '#1a7f37' : '#cf222e'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>jitssh: ${title}</title>
<style>body{font-family:system-ui,sans-serif;display:flex;min-height:90vh;align-items:center;justify-content:center;background:#f6f8fa;color:#1f2328}
main{background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:2rem 2.5rem;max-width:32rem;text-align:center}
h1{color:${colour};font-size:1.5rem;margin:0 0 .75rem}</style></head>
<body><main><h1>${title}</h1><p>${escapeHtml(message)}</p></main></body></html>
`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
