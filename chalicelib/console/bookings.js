// Bookings as the console shows them: events and series occurrences merged, overlaps marked, lanes laid out.
// Pure functions over API records; instants become epoch milliseconds here.

import { all, get } from "./api.js";
import { iso } from "./time.js";

/** States that no longer hold their slot (the server's `occupies()`), drawn faded and never "overlapping". */
export const RELEASED = new Set(["cancelled", "failed"]);
export const STATES = ["scheduled", "provisioning", "ready", "live", "stopped", "completed", "cancelled", "failed"];
export const PLANNED = "planned"; // an occurrence of a series that is not an event yet

const ms = (text) => Date.parse(text);

/** One booking from an event record. */
export function fromEvent(event) {
  return {
    key: `e:${event.id}`,
    eventId: event.id,
    title: event.title,
    channelId: event.channel_id,
    start: ms(event.start),
    end: ms(event.end),
    state: event.state,
    scheduleId: event.schedule_id,
    occurrenceStart: event.occurrence_start,
  };
}

/** One booking from an occurrence of `schedule` that is not (or not listed as) an event. */
export function fromOccurrence(occurrence, schedule) {
  return {
    key: occurrence.event_id ? `e:${occurrence.event_id}` : `o:${schedule.id}:${occurrence.occurrence_start}`,
    eventId: occurrence.event_id,
    title: schedule.title,
    channelId: schedule.channel_id,
    start: ms(occurrence.start),
    end: ms(occurrence.end),
    state: occurrence.event_id ? occurrence.state || "scheduled" : PLANNED,
    scheduleId: schedule.id,
    occurrenceStart: occurrence.occurrence_start,
  };
}

/** Events and occurrences as one list, one booking per event_id (the event record wins). */
export function merge(events, occurrences) {
  const byKey = new Map(events.map((e) => [`e:${e.id}`, fromEvent(e)]));
  for (const { occurrence, schedule } of occurrences) {
    const booking = fromOccurrence(occurrence, schedule);
    if (!byKey.has(booking.key)) byKey.set(booking.key, booking);
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Marks `overlaps` (keys of the others) on bookings of one channel that overlap, changeover included. */
export function markOverlaps(bookings, changeoverMs = 0) {
  const live = bookings.filter((b) => !RELEASED.has(b.state)).sort((a, b) => a.start - b.start);
  const marked = new Map(bookings.map((b) => [b.key, { ...b, overlaps: [] }]));
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length && live[j].start < live[i].end + changeoverMs; j++) {
      marked.get(live[i].key).overlaps.push(live[j].key);
      marked.get(live[j].key).overlaps.push(live[i].key);
    }
  }
  return bookings.map((b) => marked.get(b.key));
}

/** Lane index per booking so that overlapping ones sit side by side; returns {lanes, count}. */
export function lanes(bookings) {
  const ends = [];
  const lane = new Map();
  for (const b of [...bookings].sort((x, y) => x.start - y.start || y.end - x.end)) {
    let index = ends.findIndex((end) => end <= b.start);
    if (index < 0) index = ends.push(0) - 1;
    ends[index] = b.end;
    lane.set(b.key, index);
  }
  return { lane, count: Math.max(1, ends.length) };
}

/** The events overlapping [from, to), optionally on one channel. */
export function loadEvents(from, to, channelId) {
  return all("v1/events", { from: iso(from), to: iso(to), channel_id: channelId });
}

/** Every occurrence of the active series (of `channelId`, if given) overlapping [from, to). */
export async function loadOccurrences(schedules, from, to, channelId) {
  const wanted = schedules.filter((s) => s.status === "active" && (!channelId || s.channel_id === channelId));
  const lists = await Promise.all(
    wanted.map(async (schedule) => {
      // Listed by original start: reach back one duration for an occurrence that began before the window.
      const query = { from: iso(from - schedule.duration * 1000), to: iso(to), limit: 1000 };
      const { data } = await get(`v1/schedules/${schedule.id}/occurrences`, query);
      return data.items.filter((o) => ms(o.end) > from).map((occurrence) => ({ occurrence, schedule }));
    }),
  );
  return lists.flat();
}
