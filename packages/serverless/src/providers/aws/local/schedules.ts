/**
 * EventBridge scheduled rules, locally: each rule fires its function on its neutral schedule (standard cron or
 * rate, in UTC, through the scheduler every provider's local emulation shares) and on demand (`fire`, served at
 * `POST /polycloud/schedules/<rule or function>`), with the event EventBridge sends for a schedule
 * ("Scheduled Event" from `aws.events`, the rule's ARN in `resources`, `detail: {}`), or the rule's constant
 * input when it has one. EventBridge invokes the function asynchronously.
 */
import { randomUUID } from 'node:crypto'
import { startScheduler, type Stoppable } from '../../../local.js'
import { nextRun, parseSchedule } from '../../../schedule.js'

export interface ScheduleSpec {
  /** The rule's name (its ARN's last part). */
  readonly rule: string
  readonly function: string
  /** A neutral schedule: 5-field cron, @daily and the like, or rate(N minutes|hours|days). */
  readonly expression: string
  readonly enabled?: boolean
  /** The rule's constant input: sent instead of the scheduled event. */
  readonly input?: unknown
}

export interface ScheduledEvent {
  version: '0'
  id: string
  'detail-type': 'Scheduled Event'
  source: 'aws.events'
  account: string
  time: string
  region: string
  resources: string[]
  detail: Record<string, never>
}

export interface SchedulesOptions {
  readonly region: string
  readonly accountId: string
  readonly specs: readonly ScheduleSpec[]
  /** Invokes the rule's function (asynchronously) with the event. */
  readonly fire: (spec: ScheduleSpec, event: unknown, id: string) => void
  readonly log: (line: string) => void
  readonly now?: () => Date
}

export class LocalSchedules {
  private scheduler: Stoppable | undefined
  private readonly now: () => Date

  constructor(private readonly options: SchedulesOptions) {
    this.now = options.now ?? (() => new Date())
    // Checked now: a bad expression fails the start with the rule named.
    for (const spec of options.specs) {
      try {
        parseSchedule(spec.expression)
      } catch (error) {
        throw new Error(`schedule ${spec.rule} of ${spec.function}: ${(error as Error).message}`, { cause: error })
      }
    }
  }

  ruleArn(rule: string): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:rule/${rule}`
  }

  /** The event EventBridge sends for a rule firing at `time` (its time without milliseconds, as EventBridge writes it). */
  event(spec: ScheduleSpec, time: Date): ScheduledEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.options.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: [this.ruleArn(spec.rule)],
      detail: {},
    }
  }

  private run(spec: ScheduleSpec, time: Date): { rule: string; function: string; id: string } {
    const event = this.event(spec, time)
    this.options.fire(spec, spec.input === undefined ? event : spec.input, event.id)
    return { rule: spec.rule, function: spec.function, id: event.id }
  }

  /** Starts firing the enabled rules on their schedules. */
  start(): void {
    const jobs = this.options.specs
      .filter((spec) => spec.enabled !== false)
      .map((spec) => ({ name: spec.rule, expression: spec.expression, fire: async (time: Date) => void this.run(spec, time) }))
    this.scheduler = startScheduler(jobs, (job, error) => this.options.log(`local AWS: schedule ${job.name} failed to fire: ${(error as Error).message}`), this.now)
  }

  /** Fires now every rule with this name, or every rule of the function with this name (disabled ones too). */
  fire(name: string): Array<{ rule: string; function: string; id: string }> {
    const byRule = this.options.specs.filter((spec) => spec.rule === name)
    const specs = byRule.length > 0 ? byRule : this.options.specs.filter((spec) => spec.function === name)
    return specs.map((spec) => this.run(spec, this.now()))
  }

  list(): Array<{ rule: string; function: string; expression: string; enabled: boolean; next: string | undefined }> {
    return this.options.specs.map((spec) => ({
      rule: spec.rule,
      function: spec.function,
      expression: spec.expression,
      enabled: spec.enabled !== false,
      next: spec.enabled === false ? undefined : nextRun(parseSchedule(spec.expression), this.now()).toISOString(),
    }))
  }

  async stop(): Promise<void> {
    await this.scheduler?.stop()
  }
}
