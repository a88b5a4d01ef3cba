// The one cron parser of Bramble (croner), shared by the schema, which refuses
// what it cannot run, and the CronJob controller, which asks it for "the first
// scheduled instant after T" in a time zone: the two can never disagree.
//
// Kubernetes parses spec.schedule with robfig/cron's standard parser; where
// croner accepts more or means something else, this module brings it back:
// - five fields only (croner would take a sixth, for seconds);
// - no croner extras: L, W, # and "?" as "the current value"; robfig reads "?"
//   as "*", so it is rewritten to "*" here;
// - macros are mapped here (croner lacks @midnight);
// - day-of-month and day-of-week are ORed when both are restricted (Vixie cron,
//   croner's legacyMode); "*/1" counts as "*" there, as in robfig;
// - day-of-week 0-6 (robfig refuses 7);
// - a time that does not exist (the hour skipped when clocks spring forward) is
//   skipped, as robfig does; croner would run it an hour later. In the repeated
//   hour when clocks fall back, croner runs once, at the second occurrence.
// - `CRON_TZ=`/`TZ=` prefixes are refused, as Kubernetes does: spec.timeZone says it.
import { Cron, CronPattern } from 'croner';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
/** The names robfig reads: months and weekdays, in any case. */
const NAMES: Record<number, string[]> = {
  3: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  4: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
/** Digits, names (JAN, MON), ranges, lists and steps: what robfig's standard parser reads. */
const FIELD_CHARS = /^[0-9A-Za-z*?,\-/]+$/;
/** Nonexistent (DST gap) times skipped in a row before giving up; a gap is one hour, so this is never reached. */
const MAX_GAP_SKIPS = 1000;

const SHAPE = 'must be a cron schedule with 5 fields (minute hour day-of-month month day-of-week) or a macro such as "@hourly"';

export class CronScheduleError extends Error {}

/** A parsed schedule in one time zone. */
export interface CronSchedule {
  /** The first scheduled instant strictly after `afterMs` (epoch ms), or undefined if there is none (e.g. "0 0 31 2 *"). */
  next(afterMs: number): number | undefined;
}

/** The five fields croner is given, or a problem in the words of the schema. */
function normalize(schedule: string): string[] | string {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) return 'must not carry a CRON_TZ= or TZ= prefix: set spec.timeZone instead';
  if (text.startsWith('@')) {
    const expanded = MACROS[text.toLowerCase()];
    return expanded ? expanded.split(' ') : `${SHAPE}; known macros are ${Object.keys(MACROS).join(', ')}`;
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return SHAPE;
  for (const [i, f] of fields.entries()) {
    const names = NAMES[i] ?? [];
    const badWord = (f.match(/[A-Za-z]+/g) ?? []).find((w) => !names.includes(w.toUpperCase()));
    if (!FIELD_CHARS.test(f) || badWord !== undefined) {
      const allowed = names.length > 0 ? `digits, names such as ${names[0]}, "*", ",", "-", "/"` : 'digits, "*", ",", "-", "/"';
      return `must be a valid cron schedule (the ${FIELD_NAMES[i]} field "${f}" has a character other than ${allowed})`;
    }
  }
  return fields.map((f, i) => {
    let out = f === '?' ? '*' : f;
    // robfig keeps "*/1" a wildcard for the day-of-month/day-of-week OR rule; croner would not.
    if ((i === 2 || i === 4) && out === '*/1') out = '*';
    return out;
  });
}

function checkDayOfWeek(field: string): string | undefined {
  for (const n of field.match(/\d+/g) ?? []) {
    // A step ("*/7") is not a day; only values and range ends are.
    if (new RegExp(`/${n}(?!\\d)`).test(field)) continue;
    if (Number(n) > 6) return `must be a valid cron schedule (day-of-week ${n} is above 6; Sunday is 0 or SUN)`;
  }
  return undefined;
}

/** A problem with a schedule (for the schema), or undefined when croner and this module can run it. */
export function cronScheduleProblem(schedule: string): string | undefined {
  try {
    compile(schedule, 'UTC');
    return undefined;
  } catch (e) {
    return e instanceof CronScheduleError ? e.message : `must be a valid cron schedule (${(e as Error).message.replace(/^CronPattern: /, '')})`;
  }
}

/** A problem with a time zone name, or undefined for a name the runtime's IANA database knows. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
    // Intl accepts offsets such as "+01:00"; Kubernetes wants a zone name.
    if (!/^[A-Za-z]/.test(timeZone)) throw new RangeError(timeZone);
    // Intl ignores case; Go's time.LoadLocation (Kubernetes) reads a file name and does not.
    if (resolved !== timeZone && resolved.toLowerCase() === timeZone.toLowerCase()) throw new RangeError(timeZone);
    return undefined;
  } catch {
    return 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"';
  }
}

/** Parses a schedule for a time zone (UTC when absent); throws CronScheduleError or croner's Error. */
export function parseCronSchedule(schedule: string, timeZone?: string): CronSchedule {
  const zone = timeZone ?? 'UTC';
  const tzProblem = timeZoneProblem(zone);
  if (tzProblem) throw new CronScheduleError(tzProblem);
  return compile(schedule, zone);
}

function compile(schedule: string, zone: string): CronSchedule {
  const fields = normalize(schedule);
  if (typeof fields === 'string') throw new CronScheduleError(fields);
  const dowProblem = checkDayOfWeek(fields[4]!);
  if (dowProblem) throw new CronScheduleError(dowProblem);
  const pattern = fields.join(' ');
  // paused: never a timer; this object only answers "what comes next".
  const cron = new Cron(pattern, { paused: true, timezone: zone, legacyMode: true });
  const parsed = new CronPattern(pattern, zone);
  const wall = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  const existsAsWritten = (ms: number): boolean => {
    const parts = wall.formatToParts(new Date(ms));
    const hour = Number(parts.find((p) => p.type === 'hour')!.value);
    const minute = Number(parts.find((p) => p.type === 'minute')!.value);
    return parsed.hour[hour] === 1 && parsed.minute[minute] === 1;
  };
  return {
    next(afterMs: number): number | undefined {
      let from = afterMs;
      for (let i = 0; i < MAX_GAP_SKIPS; i++) {
        const d = cron.nextRun(new Date(from));
        if (!d) return undefined;
        // croner moves a time inside a spring-forward gap to after it; robfig skips it.
        if (existsAsWritten(d.getTime())) return d.getTime();
        from = d.getTime();
      }
      return undefined;
    },
  };
}
