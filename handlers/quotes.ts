import { HttpError, http, json } from '@polycloud/core'
import { asObject, shown } from './json-shape.js'

interface QuoteRequest {
  items?: Array<{ sku?: unknown; quantity?: unknown; unitPrice?: unknown }>
  currency?: unknown
  discountCode?: unknown
}

const DISCOUNTS: Record<string, number> = { WELCOME10: 0.1, VIP25: 0.25 }

/**
 * POST /quotes: prices a basket sent as JSON. Malformed JSON is a 400 (from `request.json()`), and so is JSON that
 * is not an object (`null`, `42`, `"x"`, a list), named in the message; a basket whose fields are wrong is a 422
 * naming the field. Amounts are integer cents, so nothing is lost to floating point.
 */
export default http(async (request) => {
  const value = await request.json<unknown>()
  const body = asObject(value) as QuoteRequest | undefined
  if (body === undefined) throw new HttpError(400, `the body must be a JSON object (a basket with items), got ${shown(value)}`)
  if (!Array.isArray(body.items) || body.items.length === 0) throw new HttpError(422, 'items must be a non-empty array')
  const lines = body.items.map((item, index) => {
    const { sku, quantity, unitPrice } = item
    if (typeof sku !== 'string' || sku === '') throw new HttpError(422, `items[${index}].sku must be a string`)
    if (!Number.isInteger(quantity) || (quantity as number) < 1) throw new HttpError(422, `items[${index}].quantity must be a positive integer`)
    if (!Number.isInteger(unitPrice) || (unitPrice as number) < 0) throw new HttpError(422, `items[${index}].unitPrice must be a non-negative integer (cents)`)
    return { sku, quantity: quantity as number, total: (quantity as number) * (unitPrice as number) }
  })
  const subtotal = lines.reduce((sum, line) => sum + line.total, 0)
  const code = typeof body.discountCode === 'string' ? body.discountCode.toUpperCase() : undefined
  if (code !== undefined && DISCOUNTS[code] === undefined) throw new HttpError(422, `unknown discountCode ${JSON.stringify(body.discountCode)}`)
  const discount = code === undefined ? 0 : Math.round(subtotal * (DISCOUNTS[code] as number))
  const currency = typeof body.currency === 'string' ? body.currency : 'EUR'
  return json({ currency, lines, subtotal, discount, total: subtotal - discount }, { status: 201 })
})
