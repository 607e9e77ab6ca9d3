import { HttpError, http, json } from '@polycloud/core'
import { asObject, shown } from './json-shape.js'

const THEMES = new Set(['light', 'dark'])

/**
 * PUT /preferences: stores the visitor's theme and language where stateless services keep such things: in
 * cookies. Two Set-Cookie headers, which every provider delivers as two. JSON that is not an object is a 400, wrong
 * fields a 422.
 */
export default http(async (request) => {
  const value = await request.json<unknown>()
  const body = asObject(value)
  if (body === undefined) throw new HttpError(400, `the body must be a JSON object (theme and lang), got ${shown(value)}`)
  const { theme, lang } = body
  if (typeof theme !== 'string' || !THEMES.has(theme)) throw new HttpError(422, 'theme must be "light" or "dark"')
  if (typeof lang !== 'string' || !/^[a-z]{2}$/.test(lang)) throw new HttpError(422, 'lang must be a two-letter code')
  const previous = { theme: request.cookies.get('theme') ?? null, lang: request.cookies.get('lang') ?? null }
  const attributes = 'Path=/; Max-Age=31536000; SameSite=Lax'
  return json(
    { theme, lang, previous },
    { headers: { 'set-cookie': [`theme=${theme}; ${attributes}`, `lang=${lang}; ${attributes}`] } },
  )
})
