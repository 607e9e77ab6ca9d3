import { HttpError, http, json } from '@polycloud/core'

const THEMES = new Set(['light', 'dark'])

/**
 * PUT /preferences: stores the visitor's theme and language where stateless services keep such things: in
 * cookies. Two Set-Cookie headers, which every provider delivers as two.
 */
export default http(async (request) => {
  const { theme, lang } = await request.json<{ theme?: unknown; lang?: unknown }>()
  if (typeof theme !== 'string' || !THEMES.has(theme)) throw new HttpError(422, 'theme must be "light" or "dark"')
  if (typeof lang !== 'string' || !/^[a-z]{2}$/.test(lang)) throw new HttpError(422, 'lang must be a two-letter code')
  const previous = { theme: request.cookies.get('theme') ?? null, lang: request.cookies.get('lang') ?? null }
  const attributes = 'Path=/; Max-Age=31536000; SameSite=Lax'
  return json(
    { theme, lang, previous },
    { headers: { 'set-cookie': [`theme=${theme}; ${attributes}`, `lang=${lang}; ${attributes}`] } },
  )
})
