import { HttpError, http, json } from '@polycloud/core'

const GREETINGS: Record<string, string> = { en: 'Hello', fr: 'Bonjour', de: 'Hallo', es: 'Hola', ja: 'こんにちは' }

/** GET /greetings/{name}?lang=fr: a path parameter and a query parameter. */
export default http((request) => {
  const name = request.params.name ?? ''
  const lang = request.query.get('lang') ?? 'en'
  const greeting = GREETINGS[lang]
  if (greeting === undefined) {
    throw new HttpError(400, `unknown lang ${JSON.stringify(lang)}`, { details: { supported: Object.keys(GREETINGS) } })
  }
  return json({ greeting: `${greeting}, ${name}!`, lang })
})
