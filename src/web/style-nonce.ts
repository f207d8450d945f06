// xterm.js sizes and colours its DOM renderer with <style> elements it creates at run time. The page's CSP
// allows no inline style except by nonce, so each <style> created from here on carries the page's nonce,
// read from <meta property="csp-nonce" nonce="..."> (browsers hide the attribute, not the property).

export function nonceStyleElements(doc: Document): void {
  const nonce = doc.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce
  if (!nonce) return
  const create = doc.createElement.bind(doc) as (tagName: string, options?: ElementCreationOptions) => HTMLElement
  doc.createElement = ((tagName: string, options?: ElementCreationOptions) => {
    const element = create(tagName, options)
    if (tagName.toLowerCase() === 'style') element.nonce = nonce
    return element
  }) as Document['createElement']
}
