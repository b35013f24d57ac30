// One time track (a room's day, or one day of a room's week): bookings placed by time, the now-line,
// and the pointer gestures: drag or click-click on free time to select a range, drag a booking to move
// it, drag its grip to resize it. Keyboard users get the same through the forms (see docs/console.md).

import { html, useRef, useState } from "./html.js";
import { lanes, PLANNED, RELEASED } from "./bookings.js";
import { clock, SNAP } from "./time.js";

const LANE_PX = 44; // height of one lane in a horizontal track
const MOVABLE = new Set(["scheduled", PLANNED]);
const DRAG_PX = 5; // a press that moves less than this is a click

export const STATE_TEXT = { planned: "planned (series, not an event yet)" };

/** What a screen reader says for a booking. */
export function describe(b, zone, channelName) {
  const parts = [b.title, `${clock(b.start, zone)} to ${clock(b.end, zone)}`, STATE_TEXT[b.state] || b.state];
  if (channelName) parts.push(channelName);
  if (b.scheduleId) parts.push("series");
  if (b.overlaps?.length) parts.push("overlaps another booking");
  return parts.join(", ");
}

export function Track({ axis, start, end, zone, bookings, now, marks, channelName, onOpen, onSelect, onMove }) {
  const ref = useRef(null);
  const press = useRef(null); // the gesture in progress (not state: pointer events outrun renders)
  const clickGuard = useRef(false);
  const [drag, setDrag] = useState(null); // what the gesture shows: {key?, from, to, mode}
  const [anchor, setAnchor] = useState(null); // click-click: the first click's instant
  const total = end - start;
  const pct = (t) => ((Math.min(Math.max(t, start), end) - start) / total) * 100;
  const horizontal = axis === "x";

  const timeAt = (e) => {
    const r = ref.current.getBoundingClientRect();
    const frac = horizontal ? (e.clientX - r.left) / r.width : (e.clientY - r.top) / r.height;
    const t = start + Math.min(Math.max(frac, 0), 1) * total;
    return start + Math.round((t - start) / SNAP) * SNAP;
  };

  const onPointerDown = (e) => {
    if (e.button !== 0) return;
    const el = e.target.closest("[data-key]");
    const booking = el && bookings.find((b) => b.key === el.dataset.key);
    if (el && (!booking || !MOVABLE.has(booking.state) || !onMove)) return;
    const mode = booking ? (e.target.closest(".grip") ? "resize" : "move") : "select";
    press.current = { mode, booking, origin: timeAt(e), x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
    if (mode === "select") e.preventDefault();
  };

  const onPointerMove = (e) => {
    const p = press.current;
    if (!p) return;
    if (!p.moved) {
      if (Math.hypot(e.clientX - p.x, e.clientY - p.y) < DRAG_PX) return;
      p.moved = true;
      ref.current.setPointerCapture(p.id);
    }
    const t = timeAt(e);
    const delta = t - p.origin;
    if (p.mode === "select") setDrag({ mode: "select", from: Math.min(p.origin, t), to: Math.max(p.origin, t) });
    else if (p.mode === "move") setDrag({ mode: "move", key: p.booking.key, from: p.booking.start + delta, to: p.booking.end + delta });
    else setDrag({ mode: "resize", key: p.booking.key, from: p.booking.start, to: Math.max(p.booking.start + SNAP, p.booking.end + delta) });
  };

  const onPointerUp = (e) => {
    const p = press.current;
    press.current = null;
    setDrag(null);
    if (!p) return;
    const t = timeAt(e);
    if (p.mode === "select") {
      if (p.moved) {
        setAnchor(null);
        if (t !== p.origin) onSelect(Math.min(p.origin, t), Math.max(p.origin, t));
      } else if (anchor === null) {
        setAnchor(t);
      } else {
        setAnchor(null);
        if (t !== anchor) onSelect(Math.min(anchor, t), Math.max(anchor, t));
      }
      return;
    }
    if (!p.moved) return; // a click: the booking's own onClick opens it
    clickGuard.current = true;
    setTimeout(() => (clickGuard.current = false), 0);
    const delta = t - p.origin;
    if (p.mode === "move" && delta) onMove(p.booking, p.booking.start + delta, p.booking.end + delta);
    if (p.mode === "resize" && delta) onMove(p.booking, p.booking.start, Math.max(p.booking.start + SNAP, p.booking.end + delta));
  };

  const open = (b) => {
    if (!clickGuard.current) onOpen(b);
  };

  const layout = lanes(bookings);
  const place = (from, to, lane, count) =>
    horizontal
      ? { left: `${pct(from)}%`, width: `${Math.max(pct(to) - pct(from), 0.4)}%`, top: `${lane * LANE_PX + 3}px`, height: `${LANE_PX - 6}px` }
      : { top: `${pct(from)}%`, height: `${Math.max(pct(to) - pct(from), 1)}%`, left: `${(lane / count) * 100}%`, width: `${100 / count}%` };
  const size = horizontal ? { height: `${layout.count * LANE_PX}px` } : {};
  const line = (t) => (horizontal ? { left: `${pct(t)}%` } : { top: `${pct(t)}%` });

  return html`
    <div class=${`track track-${axis}`} ref=${ref} style=${size}
      onPointerDown=${onPointerDown} onPointerMove=${onPointerMove} onPointerUp=${onPointerUp}
      onPointerCancel=${() => { press.current = null; setDrag(null); }}>
      ${marks.map((m) => html`<div class="tick" style=${line(m.at)} aria-hidden="true"></div>`)}
      ${now >= start && now < end && html`<div class="now-line" style=${line(now)} title=${`now ${clock(now, zone)}`} aria-hidden="true"></div>`}
      ${anchor !== null && html`<div class="anchor" style=${line(anchor)} aria-hidden="true"><span>${clock(anchor, zone)} →</span></div>`}
      ${drag?.mode === "select" && html`<div class="selection" style=${place(drag.from, drag.to, 0, 1)} aria-hidden="true">${clock(drag.from, zone)}–${clock(drag.to, zone)}</div>`}
      ${bookings.map((b) => {
        const shown = drag?.key === b.key ? drag : b;
        const classes = ["booking", `st-${b.state}`];
        if (b.overlaps?.length) classes.push("overlap");
        if (RELEASED.has(b.state)) classes.push("released");
        if (drag?.key === b.key) classes.push("dragging");
        const movable = MOVABLE.has(b.state) && onMove;
        return html`
          <button type="button" key=${b.key} class=${classes.join(" ")} data-key=${b.key} data-start=${b.start}
            style=${place(shown.from ?? shown.start, shown.to ?? shown.end, layout.lane.get(b.key), layout.count)}
            aria-label=${describe(b, zone, channelName)} title=${describe(b, zone, channelName)}
            onClick=${() => open(b)}>
            <span class="b-title">${b.overlaps?.length ? "⚠ " : ""}${b.title}</span>
            <span class="b-time">${clock(shown.from ?? shown.start, zone)}–${clock(shown.to ?? shown.end, zone)}</span>
            ${movable && html`<span class="grip" aria-hidden="true"></span>`}
          </button>`;
      })}
    </div>`;
}
