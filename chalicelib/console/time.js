// Time in IANA zones without a library: wall-clock parts from Intl, instants from wall clocks.
// Dates are "YYYY-MM-DD" strings (a calendar day, no zone); instants are epoch milliseconds.

const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const formats = new Map();
function wallFormat(zone) {
  if (!formats.has(zone)) {
    formats.set(
      zone,
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      }),
    );
  }
  return formats.get(zone);
}

/** The wall clock in `zone` at instant `ms`: {y, mo, d, h, mi, s}. */
export function wall(ms, zone) {
  const p = {};
  for (const { type, value } of wallFormat(zone).formatToParts(ms)) p[type] = Number(value);
  return { y: p.year, mo: p.month, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second };
}

/** How far `zone` is ahead of UTC at instant `ms`, in milliseconds. */
export function offset(ms, zone) {
  const w = wall(ms, zone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall clock shows in `zone`; a time skipped by a DST change moves forward by the gap. */
export function instant(y, mo, d, h, mi, zone) {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const first = guess - offset(guess, zone);
  const second = guess - offset(first, zone);
  return second === first ? first : Math.max(first, second);
}

export function parseDate(date) {
  const [y, mo, d] = date.split("-").map(Number);
  return { y, mo, d };
}

/** The calendar day `n` days after `date`. */
export function addDays(date, n) {
  const { y, mo, d } = parseDate(date);
  return new Date(Date.UTC(y, mo - 1, d + n)).toISOString().slice(0, 10);
}

/** Monday of the week holding `date`. */
export function weekStart(date) {
  const { y, mo, d } = parseDate(date);
  const weekday = (new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7;
  return addDays(date, -weekday);
}

/** Local midnight of `date` in `zone`, as an instant. */
export function dayStart(date, zone) {
  const { y, mo, d } = parseDate(date);
  return instant(y, mo, d, 0, 0, zone);
}

const pad = (n) => String(n).padStart(2, "0");

/** The calendar day in `zone` at instant `ms`. */
export function dateIn(ms, zone) {
  const w = wall(ms, zone);
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}`;
}

/** "09:05" in `zone`. */
export function clock(ms, zone) {
  const w = wall(ms, zone);
  return `${pad(w.h)}:${pad(w.mi)}`;
}

/** "Mon 7 Jan 2030" for a calendar day. */
export function longDate(date) {
  const { y, mo, d } = parseDate(date);
  return new Date(Date.UTC(y, mo - 1, d)).toLocaleDateString("en-GB", {
    timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric",
  });
}

/** "UTC+01:00" for `zone` at instant `ms`. */
export function utcOffset(ms, zone) {
  const minutes = Math.round(offset(ms, zone) / MINUTE);
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** "2030-01-07 09:00" in `zone`. */
export function stamp(ms, zone) {
  return `${dateIn(ms, zone)} ${clock(ms, zone)}`;
}

/** The API's instant format: RFC 3339 UTC with Z, whole seconds. */
export function iso(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A datetime-local input's value ("2030-01-07T09:00") for instant `ms` in `zone`. */
export function toLocalInput(ms, zone) {
  return `${dateIn(ms, zone)}T${clock(ms, zone)}`;
}

/** The instant a datetime-local value means in `zone`; NaN when it is not one. */
export function fromLocalInput(value, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  return instant(y, mo, d, h, mi, zone);
}

/** The browser's own zone. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Hour marks of [start, end) (start being a local midnight in `zone`): [{at, label}], one a local hour. */
export function hourMarks(start, end, zone) {
  const marks = [];
  for (let at = start; at < end; at += HOUR) marks.push({ at, label: clock(at, zone) });
  return marks;
}

/** A duration as "1 h 30 min". */
export function span(ms) {
  const minutes = Math.round(ms / MINUTE);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return [h ? `${h} h` : "", m ? `${m} min` : ""].filter(Boolean).join(" ") || "0 min";
}

export const SNAP = 15 * MINUTE;
export { MINUTE };
