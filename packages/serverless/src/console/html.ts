/**
 * The local console's pages: plain server-rendered HTML, no script. Everything shown that came from outside the
 * console's own text (log lines, message bodies, names) goes through {@link escapeHtml}: log lines are hostile input.
 */
import type { Invocation, QueueView, Trace } from './model.js'

/** A function of the service and its triggers, as the console lists them. */
export interface FunctionView {
  readonly name: string
  readonly handler: string
  readonly triggers: readonly string[]
}

export interface ConsoleInfo {
  readonly service: string
  readonly stage: string
  /** The provider's title (`AWS`, `Google Cloud`). */
  readonly provider: string
  readonly functions: readonly FunctionView[]
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for an HTML element or a quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character] as string)
}

/** A path segment made safe for a link. */
const segment = (value: string): string => encodeURIComponent(value)

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:baseline}
header a{color:#9fc3ff;text-decoration:none}header strong{font-size:16px}
main{padding:16px 20px}h2{font-size:15px;margin:20px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef0f3;font-weight:600}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
.ok{color:#167a2e}.error{color:#b3261e;font-weight:600}.running{color:#8a6d00}
.timeline{background:#fff;border:1px solid #e3e6ea;padding:8px}
.row{display:flex;align-items:center;height:26px}.label{width:320px;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.lane{position:relative;flex:1;height:18px;background:#f0f2f5}
.bar{position:absolute;top:0;height:18px;min-width:3px;border-radius:3px;background:#3b73d9;color:#fff;font-size:11px;line-height:18px;padding-left:4px;box-sizing:border-box;white-space:nowrap;overflow:hidden}
.bar.error{background:#c8372d}.bar.running{background:#c9a227}
.lines td{background:#fbfbfc}.muted{color:#6b7280}form{display:inline}
`

function page(info: ConsoleInfo, title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Polycloud console</title><style>${STYLE}</style></head><body>
<header><strong>Polycloud console</strong><span>${escapeHtml(info.service)} · ${escapeHtml(info.stage)} · ${escapeHtml(info.provider)} (local)</span>
<a href="/">Invocations</a><a href="/traces">Traces</a><a href="/queues">Queues</a></header><main>${body}</main></body></html>`
}

const time = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : '')
const duration = (ms: number | undefined): string => (ms === undefined ? '' : `${Math.round(ms * 10) / 10} ms`)

function outcome(invocation: Invocation): string {
  const status = invocation.status === undefined ? '' : ` ${invocation.status}`
  const batch = invocation.events === undefined ? '' : invocation.failed ? ` (${invocation.failed}/${invocation.events} failed)` : ` (${invocation.events} event${invocation.events === 1 ? '' : 's'})`
  return `<span class="${invocation.outcome}">${escapeHtml(invocation.outcome)}${escapeHtml(status)}${escapeHtml(batch)}</span>`
}

function traceLink(traceId: string | undefined): string {
  return traceId === undefined ? '' : `<a href="/traces/${segment(traceId)}"><code>${escapeHtml(traceId)}</code></a>`
}

function invocationRows(invocations: readonly Invocation[]): string {
  if (invocations.length === 0) return '<tr><td colspan="7" class="muted">No invocation yet: call a route, send a message, upload an object.</td></tr>'
  return invocations
    .map(
      (invocation) =>
        `<tr class="invocation"><td>${time(invocation.start)}</td><td>${escapeHtml(invocation.function)}</td><td>${escapeHtml(invocation.kind ?? '')}</td><td>${outcome(invocation)}</td><td>${duration(invocation.durationMs)}</td><td>${invocation.coldStart === undefined ? '' : invocation.coldStart ? 'cold' : 'warm'}</td><td>${traceLink(invocation.traceId)}</td></tr>`,
    )
    .join('\n')
}

/** The first page: the functions with their triggers, and the last invocations. */
export function overviewPage(info: ConsoleInfo, invocations: readonly Invocation[]): string {
  const functions = info.functions
    .map((fn) => `<tr><td>${escapeHtml(fn.name)}</td><td><code>${escapeHtml(fn.handler)}</code></td><td>${fn.triggers.map((trigger) => escapeHtml(trigger)).join('<br>') || '<span class="muted">none (invoked directly)</span>'}</td></tr>`)
    .join('\n')
  return page(
    info,
    'Invocations',
    `<h2>Functions</h2><table><tr><th>Function</th><th>Handler</th><th>Triggers</th></tr>${functions}</table>
<h2>Last invocations (${invocations.length})</h2><table id="invocations"><tr><th>Start</th><th>Function</th><th>Kind</th><th>Outcome</th><th>Duration</th><th>Start kind</th><th>Trace</th></tr>${invocationRows(invocations)}</table>`,
  )
}

export function tracesPage(info: ConsoleInfo, traces: readonly Trace[]): string {
  const rows = traces
    .map(
      (trace) =>
        `<tr><td>${time(trace.start)}</td><td>${traceLink(trace.traceId)}</td><td>${trace.functions.map((fn) => escapeHtml(fn)).join(' → ')}</td><td>${trace.invocations.length}</td><td>${duration(trace.end - trace.start)}</td><td class="${trace.failed ? 'error' : 'ok'}">${trace.failed ? 'error' : 'ok'}</td></tr>`,
    )
    .join('\n')
  return page(info, 'Traces', `<h2>Traces (${traces.length})</h2><table><tr><th>Start</th><th>Trace id</th><th>Functions</th><th>Invocations</th><th>Span</th><th>Outcome</th></tr>${rows || '<tr><td colspan="6" class="muted">No trace yet.</td></tr>'}</table>`)
}

/** One trace: a timeline row per invocation (a bar from its start to its end on the trace's span), then its lines. */
export function tracePage(info: ConsoleInfo, trace: Trace | undefined, traceId: string): string {
  if (trace === undefined) return page(info, 'Trace', `<h2>Trace <code>${escapeHtml(traceId)}</code></h2><p class="muted">No invocation of this trace is kept (the console keeps the last ones only).</p>`)
  const span = Math.max(1, trace.end - trace.start)
  const rows = trace.invocations
    .map((invocation) => {
      const end = invocation.end ?? invocation.lines.at(-1)?.time ?? invocation.start
      const left = ((invocation.start - trace.start) / span) * 100
      const width = Math.max(0.5, ((end - invocation.start) / span) * 100)
      return `<div class="row" data-function="${escapeHtml(invocation.function)}"><div class="label" title="${escapeHtml(invocation.function)}">${escapeHtml(invocation.function)} <span class="muted">${escapeHtml(invocation.kind ?? '')}</span></div><div class="lane"><div class="bar ${invocation.outcome}" style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%">${duration(invocation.durationMs ?? end - invocation.start)}</div></div></div>`
    })
    .join('\n')
  const details = trace.invocations
    .map(
      (invocation) =>
        `<h2>${escapeHtml(invocation.function)} <span class="muted">${escapeHtml(invocation.kind ?? '')} · span <code>${escapeHtml(invocation.spanId ?? '')}</code>${invocation.parentSpanId === undefined ? '' : ` · parent <code>${escapeHtml(invocation.parentSpanId)}</code>`} · request <code>${escapeHtml(invocation.requestId ?? '')}</code></span> ${outcome(invocation)} ${duration(invocation.durationMs)}${invocation.coldStart ? ' · cold start' : ''}</h2>
<table class="lines"><tr><th>Time</th><th>Level</th><th>Line</th></tr>${invocation.lines.map((line) => `<tr><td>${time(line.time)}</td><td class="${line.level === 'error' ? 'error' : ''}">${escapeHtml(line.level)}</td><td><pre>${escapeHtml(line.text)}</pre></td></tr>`).join('\n')}${invocation.dropped > 0 ? `<tr><td colspan="3" class="muted">${invocation.dropped} more lines not kept</td></tr>` : ''}</table>`,
    )
    .join('\n')
  return page(
    info,
    `Trace ${traceId}`,
    `<h2>Trace <code>${escapeHtml(trace.traceId)}</code>: ${trace.functions.map((fn) => escapeHtml(fn)).join(' → ')} · ${duration(span)}</h2><div class="timeline" id="timeline">${rows}</div>${details}`,
  )
}

export function queuesPage(info: ConsoleInfo, description: string | undefined, queues: readonly QueueView[] | undefined, notice?: string): string {
  const parts: string[] = []
  if (notice !== undefined) parts.push(`<p id="notice"><strong>${escapeHtml(notice)}</strong></p>`)
  if (queues === undefined) parts.push(`<p class="muted">${escapeHtml(description ?? 'This provider\'s local emulation has no queues the console can read.')}</p>`)
  else {
    if (description !== undefined) parts.push(`<p class="muted">${escapeHtml(description)}</p>`)
    if (queues.length === 0) parts.push('<p class="muted">The service declares no queue.</p>')
    for (const queue of queues) {
      const heading = `${queue.role === 'dead-letter' ? 'Dead-letter queue' : 'Queue'} <code>${escapeHtml(queue.name)}</code>${queue.source === undefined ? '' : ` (of <code>${escapeHtml(queue.source)}</code>)`} · ${queue.messages.length} waiting`
      const rows = queue.messages
        .map((message) => {
          const attributes = Object.entries(message.attributes).map(([name, value]) => `${name}=${value}`).join('\n')
          const button = queue.redeliver
            ? `<form method="post" action="/queues/redeliver"><input type="hidden" name="queue" value="${escapeHtml(queue.name)}"><input type="hidden" name="id" value="${escapeHtml(message.id)}"><button type="submit">Redeliver</button></form>`
            : ''
          return `<tr><td><code>${escapeHtml(message.id)}</code></td><td>${message.sentAt === undefined ? '' : time(message.sentAt)}</td><td>${message.receiveCount ?? ''}</td><td>${traceLink(message.traceId)}</td><td><pre>${escapeHtml(message.body.length > 2000 ? `${message.body.slice(0, 2000)}…` : message.body)}</pre></td><td><pre>${escapeHtml(attributes)}</pre></td><td>${button}</td></tr>`
        })
        .join('\n')
      parts.push(
        `<h2>${heading}</h2>${queue.note === undefined ? '' : `<p class="muted">${escapeHtml(queue.note)}</p>`}<table class="queue" data-queue="${escapeHtml(queue.name)}"><tr><th>Message</th><th>Sent</th><th>Receives</th><th>Trace</th><th>Body</th><th>Attributes</th><th></th></tr>${rows || '<tr><td colspan="7" class="muted">empty</td></tr>'}</table>`,
      )
    }
  }
  return page(info, 'Queues', parts.join('\n'))
}

export function notFoundPage(info: ConsoleInfo, path: string): string {
  return page(info, 'Not found', `<h2>Not found</h2><p><code>${escapeHtml(path)}</code> is not a page of the console.</p>`)
}
