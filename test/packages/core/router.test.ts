import { expect } from 'chai'
import { HttpError } from '@polycloud/core'
import { createRouter } from '@polycloud/core/adapter'

describe('core/router', () => {
  const route = createRouter([
    { method: 'GET', path: '/notes/{id}' },
    { method: 'GET', path: '/notes/latest' },
    { method: 'POST', path: '/notes' },
    { method: 'ANY', path: '/files/{path+}' },
    { method: 'DELETE', path: '/files/{path+}' },
    { method: 'GET', path: '/' },
  ])

  it('matches method and template, literal segments before parameters', () => {
    expect(route('GET', '/notes/42')).to.deep.equal({ index: 0, params: { id: '42' } })
    expect(route('get', '/notes/latest')).to.deep.equal({ index: 1, params: {} })
    expect(route('POST', '/notes')).to.deep.equal({ index: 2, params: {} })
    expect(route('GET', '/')).to.deep.equal({ index: 5, params: {} })
  })

  it('percent-decodes parameters; a greedy parameter takes the rest; a named method beats ANY', () => {
    expect(route('GET', '/notes/Z%C3%BCrich')).to.deep.include({ params: { id: 'Zürich' } })
    expect(route('GET', '/notes/%E0%A4%A')).to.deep.include({ params: { id: '%E0%A4%A' } })
    expect(route('PUT', '/files/a/b%20c.txt')).to.deep.equal({ index: 3, params: { path: 'a/b c.txt' } })
    expect(route('DELETE', '/files/a')).to.deep.equal({ index: 4, params: { path: 'a' } })
  })

  it('answers 404 for an unknown path and 405 with Allow for a known path with another method', () => {
    const thrown = (method: string, path: string): HttpError => {
      try {
        route(method, path)
      } catch (error) {
        return error as HttpError
      }
      throw new Error('no error')
    }
    expect(thrown('GET', '/nope')).to.include({ status: 404, message: 'No route for GET /nope' })
    expect(thrown('GET', '/notes/')).to.include({ status: 404 })
    expect(thrown('GET', '/files')).to.include({ status: 404 })
    expect(thrown('GET', '/notes/1/2')).to.include({ status: 404 })
    const notAllowed = thrown('DELETE', '/notes')
    expect(notAllowed).to.include({ status: 405, message: 'Method DELETE is not allowed on /notes' })
    expect(notAllowed.headers).to.deep.equal({ allow: 'POST' })
  })

  it('routes HEAD to the path\'s HEAD route, else its GET route, else ANY; Allow lists HEAD with GET', () => {
    const head = createRouter([
      { method: 'ANY', path: '/both' },
      { method: 'GET', path: '/both' },
      { method: 'GET', path: '/own' },
      { method: 'HEAD', path: '/own' },
      { method: 'ANY', path: '/any' },
      { method: 'GET', path: '/items/{id}' },
      { method: 'POST', path: '/items' },
    ])
    expect(head('HEAD', '/both')).to.deep.equal({ index: 1, params: {} })
    expect(head('GET', '/both')).to.deep.equal({ index: 1, params: {} })
    expect(head('POST', '/both')).to.deep.equal({ index: 0, params: {} })
    expect(head('HEAD', '/own')).to.deep.equal({ index: 3, params: {} })
    expect(head('GET', '/own')).to.deep.equal({ index: 2, params: {} })
    expect(head('HEAD', '/any')).to.deep.equal({ index: 4, params: {} })
    expect(head('head', '/items/7')).to.deep.equal({ index: 5, params: { id: '7' } })
    const thrown = (method: string, path: string): HttpError => {
      try {
        head(method, path)
      } catch (error) {
        return error as HttpError
      }
      throw new Error('no error')
    }
    expect(thrown('HEAD', '/items')).to.include({ status: 405 })
    expect(thrown('HEAD', '/items').headers).to.deep.equal({ allow: 'POST' })
    expect(thrown('DELETE', '/items/7').headers).to.deep.equal({ allow: 'GET, HEAD' })
    expect(thrown('DELETE', '/own').headers).to.deep.equal({ allow: 'GET, HEAD' })
  })
})
