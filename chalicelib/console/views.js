// The two calendars: a day across every room (rooms as rows, hours across) and a week of one room
// (days across, hours down, in the room's own time zone).

import { html, useEffect, useRef } from "./html.js";
import { markOverlaps } from "./bookings.js";
import { Track } from "./timeline.js";
import { addDays, clock, dayStart, hourMarks, longDate, utcOffset } from "./time.js";

/** Bookings of one channel that touch [from, to), overlaps marked with its changeover. */
function channelBookings(bookings, channel, from, to) {
  const mine = bookings.filter((b) => b.channelId === channel.id && b.end > from && b.start < to);
  return markOverlaps(mine, channel.changeover_seconds * 1000);
}

export function DayView({ date, zone, channels, bookings, now, onOpen, onSelect, onMove, onWeek }) {
  const start = dayStart(date, zone);
  const end = dayStart(addDays(date, 1), zone);
  const marks = hourMarks(start, end, zone);
  const pct = (t) => `${((t - start) / (end - start)) * 100}%`;
  const scroller = useRef(null);
  useEffect(() => {
    // Open on the hour before now when the day holds now, else on the first booking (or 07:00).
    const el = scroller.current;
    const track = el?.querySelector(".axis");
    if (!track) return;
    const first = bookings.filter((b) => b.end > start && b.start < end).map((b) => b.start)[0];
    const focus = now >= start && now < end ? now - 3600_000 : Math.max(start, (first ?? start + 7 * 3600_000) - 1800_000);
    el.scrollLeft = ((focus - start) / (end - start)) * track.offsetWidth;
  }, [date, zone, channels.length > 0, bookings.length > 0]);
  if (!channels.length) {
    return html`<p class="empty">No channels yet. Create one through the API (<code>POST /v1/channels</code>), then reload.</p>`;
  }
  return html`
    <section class="day" ref=${scroller} aria-label=${`Day view, ${longDate(date)}, times in ${zone}`}>
      <div class="day-grid">
        <div class="day-head" aria-hidden="true">
          <div class="corner">Room <small>(its time zone)</small></div>
          <div class="axis">${marks.map((m) => html`<span style=${{ left: pct(m.at) }}>${m.label}</span>`)}</div>
        </div>
        ${channels.map(
          (channel) => html`
            <div class="row" key=${channel.id} role="group" aria-label=${`${channel.name}, time zone ${channel.timezone}`}>
              <div class="row-label">
                <button type="button" class="link" onClick=${() => onWeek(channel.id)}
                  aria-label=${`Week of ${channel.name}`} title="Open this room's week">${channel.name}</button>
                <span class="zone">${channel.timezone} · ${utcOffset(start, channel.timezone)}</span>
                <span class="local">local time ${clock(now, channel.timezone)}</span>
              </div>
              <${Track} axis="x" start=${start} end=${end} zone=${zone} marks=${marks} now=${now}
                channelName=${channel.name} bookings=${channelBookings(bookings, channel, start, end)}
                onOpen=${onOpen} onMove=${onMove}
                onSelect=${(from, to) => onSelect(channel, from, to)} />
            </div>`,
        )}
      </div>
    </section>`;
}

export function WeekView({ date, channel, bookings, now, onOpen, onSelect, onMove }) {
  const scroller = useRef(null);
  useEffect(() => {
    // Open on the working day rather than at midnight.
    if (scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight * (7 / 24);
  }, [channel?.id]);
  if (!channel) return html`<p class="empty">Choose a room to see its week.</p>`;
  const zone = channel.timezone;
  const days = Array.from({ length: 7 }, (_, i) => addDays(date, i));
  const hours = hourMarks(dayStart(days[0], zone), dayStart(days[0], zone) + 24 * 3600_000, zone);
  return html`
    <section class="week" aria-label=${`Week of ${channel.name} from ${longDate(date)}, times in ${zone}`}>
      <p class="week-zone">${channel.name} · times in <strong>${zone}</strong> (${utcOffset(dayStart(date, zone), zone)})</p>
      <div class="week-scroll" ref=${scroller}>
        <div class="week-grid">
          <div class="week-corner" aria-hidden="true"></div>
          ${days.map((day) => html`<div class="week-day-head" aria-hidden="true">${longDate(day).replace(/ \d{4}$/, "")}</div>`)}
          <div class="week-hours" aria-hidden="true">${hours.map((m) => html`<span>${m.label}</span>`)}</div>
          ${days.map((day) => {
            const start = dayStart(day, zone);
            const end = dayStart(addDays(day, 1), zone);
            return html`
              <div class="week-day" role="group" aria-label=${longDate(day)}>
                <${Track} axis="y" start=${start} end=${end} zone=${zone} marks=${hourMarks(start, end, zone)}
                  now=${now} bookings=${channelBookings(bookings, channel, start, end)}
                  onOpen=${onOpen} onMove=${onMove} onSelect=${(from, to) => onSelect(channel, from, to)} />
              </div>`;
          })}
        </div>
      </div>
    </section>`;
}
