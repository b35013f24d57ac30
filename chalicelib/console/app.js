// The console: sign in with an API key (kept in this tab's sessionStorage), then the day and week views.
// State lives here; the views and dialogs are in their own modules. Live bookings refresh by polling
// while the tab is visible.

import { html, render, useEffect, useRef, useState } from "./html.js";
import { all, ApiError, get, key } from "./api.js";
import { loadEvents, loadOccurrences, merge, PLANNED, STATES } from "./bookings.js";
import { BookingDialog, CreateEvent, Dialog, moveBooking, MoveConflict } from "./dialogs.js";
import { FeedDialog } from "./feeds.js";
import { CreateSeries } from "./series.js";
import { addDays, browserZone, dateIn, dayStart, HOUR, longDate, weekStart } from "./time.js";
import { DayView, WeekView } from "./views.js";

const CONFIG = JSON.parse(document.getElementById("onair-config").textContent);
const POLL_MS = 5000; // bookings (states change while live)
const CATALOG_EVERY = 12; // polls between reloads of channels, series and their occurrences (a minute)
const SHORTCUTS = [
  ["t", "today"], ["j / k", "next / previous day or week"], ["d / w", "day view / week view"],
  ["c", "new event"], ["s", "new series"], ["r", "refresh"], ["← →", "previous / next booking in a row"],
  ["↑ ↓", "booking in the row above / below"], ["Enter", "open the focused booking"], ["Esc", "close a dialog"], ["?", "this help"],
];

/** The view, date and room in the URL's fragment (#/day/2030-01-07, #/week/2030-01-07/<channel>). */
function readRoute() {
  const [view, date, channel] = location.hash.replace(/^#\/?/, "").split("/");
  return {
    view: view === "week" ? "week" : "day",
    date: /^\d{4}-\d{2}-\d{2}$/.test(date || "") ? date : dateIn(Date.now(), browserZone()),
    channel: channel || null,
  };
}

function writeRoute({ view, date, channel }) {
  const hash = view === "week" && channel ? `#/week/${date}/${channel}` : `#/${view}/${date}`;
  if (location.hash !== hash) history.pushState(null, "", hash);
}

function SignIn({ reason, onSignedIn }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    key.set(value.trim());
    try {
      await get("v1/channels", { limit: 1 });
      onSignedIn();
    } catch (err) {
      key.clear();
      setError(err.status === 401 ? "That key was refused. Check it and try again." : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="signin">
      <h1><span class="logo" aria-hidden="true"></span> onair console</h1>
      <form onSubmit=${submit} class="form">
        <label class="field"><span class="label">API key</span>
          <input type="password" autocomplete="off" required value=${value} autofocus
            onInput=${(e) => setValue(e.currentTarget.value)} aria-describedby="key-hint" /></label>
        <p id="key-hint" class="hint">Kept in this browser tab only (sessionStorage) and sent as a header; closing the tab forgets it.</p>
        ${error && html`<p class="problem" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>Sign in</button>
      </form>
    </main>`;
}

function Legend() {
  return html`
    <ul class="legend" aria-label="Booking states">
      ${[...STATES, PLANNED].map((s) => html`<li><span class=${`swatch st-${s}`}></span>${s === PLANNED ? "planned (series)" : s}</li>`)}
      <li><span class="swatch overlap"></span>accepted overlap</li>
    </ul>`;
}

/** Arrow keys move focus between bookings: along a row, or to the nearest in the row above or below. */
function moveFocus(event) {
  const current = event.target.closest?.(".booking");
  if (!current) return false;
  const tracks = [...document.querySelectorAll(".track")];
  const track = current.closest(".track");
  const inTrack = (t) => [...t.querySelectorAll(".booking")];
  const horizontal = track.classList.contains("track-x");
  const along = horizontal ? ["ArrowLeft", "ArrowRight"] : ["ArrowUp", "ArrowDown"];
  const across = horizontal ? ["ArrowUp", "ArrowDown"] : ["ArrowLeft", "ArrowRight"];
  let target = null;
  if (along.includes(event.key)) {
    const list = inTrack(track);
    target = list[list.indexOf(current) + (event.key === along[1] ? 1 : -1)];
  } else if (across.includes(event.key)) {
    const step = event.key === across[1] ? 1 : -1;
    const start = Number(current.dataset.start);
    for (let i = tracks.indexOf(track) + step; i >= 0 && i < tracks.length && !target; i += step) {
      const list = inTrack(tracks[i]);
      target = list.sort((a, b) => Math.abs(a.dataset.start - start) - Math.abs(b.dataset.start - start))[0] || null;
    }
  } else return false;
  if (target) target.focus();
  return true;
}

function Console({ onSignOut }) {
  const [route, setRoute] = useState(readRoute);
  const [zone, setZone] = useState(browserZone);
  const [channels, setChannels] = useState(null);
  const [schedules, setSchedules] = useState([]);
  const [events, setEvents] = useState([]);
  const [occurrences, setOccurrences] = useState([]);
  const [now, setNow] = useState(Date.now());
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const [updated, setUpdated] = useState(null);
  const [help, setHelp] = useState(false);
  const polls = useRef(0);
  const generation = useRef({ events: 0, occurrences: 0 });

  // The route as last set (not as last rendered): quick key presses build on each other.
  const current = useRef(route);
  current.current = route;
  const go = (next) => {
    const merged = { ...current.current, ...next };
    current.current = merged;
    writeRoute(merged);
    setRoute(merged);
  };
  const shift = (days) => go({ date: addDays(current.current.date, days * (current.current.view === "week" ? 7 : 1)) });
  useEffect(() => {
    const onPop = () => setRoute(readRoute());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);

  const channel = channels?.find((c) => c.id === route.channel) || channels?.[0] || null;
  const weekDate = weekStart(route.date);
  const window_ =
    route.view === "week"
      ? channel && { from: dayStart(weekDate, channel.timezone), to: dayStart(addDays(weekDate, 7), channel.timezone), channelId: channel.id }
      : { from: dayStart(route.date, zone), to: dayStart(addDays(route.date, 1), zone) };

  const fail = (error) => {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 401) setNotice({ text: `Could not load: ${error.message}`, kind: "error" });
  };

  const loadCatalog = async () => {
    const [c, s] = await Promise.all([all("v1/channels"), all("v1/schedules")]);
    setChannels(c.sort((a, b) => a.name.localeCompare(b.name)));
    setSchedules(s);
    return s;
  };

  /** Reload what the window shows; `full` also reloads channels, series and occurrences. An answer is
   *  dropped when a later request for the same data was sent meanwhile (or the window moved). */
  const refresh = async (full) => {
    if (!window_) return;
    const mine = { events: ++generation.current.events, occurrences: full ? ++generation.current.occurrences : null };
    const { from, to, channelId } = window_;
    try {
      const series = full ? await loadCatalog() : schedules;
      const [found, occ] = await Promise.all([
        loadEvents(from, to, channelId),
        full ? loadOccurrences(series, from, to, channelId) : Promise.resolve(null),
      ]);
      if (mine.events === generation.current.events) setEvents(found);
      if (occ && mine.occurrences === generation.current.occurrences) setOccurrences(occ);
      setNow(Date.now());
      setUpdated(new Date());
    } catch (error) {
      fail(error);
    }
  };

  useEffect(() => {
    loadCatalog().catch(fail);
  }, []);
  const windowKey = window_ ? `${window_.from}-${window_.to}-${window_.channelId || ""}` : "";
  useEffect(() => {
    if (channels) refresh(true);
  }, [windowKey, channels === null]);

  // Poll while the tab is visible; come back up to date at once when it becomes visible again.
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    const tick = () => {
      if (document.visibilityState !== "visible") return;
      polls.current += 1;
      refreshRef.current(polls.current % CATALOG_EVERY === 0);
    };
    const timer = setInterval(tick, POLL_MS);
    const onVisible = () => document.visibilityState === "visible" && refreshRef.current(true);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const today = () => go({ date: dateIn(Date.now(), route.view === "week" && channel ? channel.timezone : zone) });
  const newEvent = (ch = channel, from = null, to = null) => {
    const start = from ?? Math.ceil(Date.now() / HOUR) * HOUR;
    setDialog({ type: "create", initial: { channelId: ch?.id, start, end: to ?? start + HOUR } });
  };
  const newSeries = () => {
    const start = Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR;
    setDialog({ type: "series", initial: { channelId: channel?.id, start } });
  };
  const done = (text) => {
    setDialog(null);
    if (text) setNotice({ text, kind: "ok" });
    refresh(true);
  };
  const onMove = async (booking, from, to) => {
    const attempt = (extra) => moveBooking(booking, extra.start ? Date.parse(extra.start) : from, extra.end ? Date.parse(extra.end) : to, extra.allow_conflict ? { allow_conflict: true } : {}).then(() => done(`Moved “${booking.title}”.`));
    try {
      await attempt({});
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      setDialog({ type: "move", booking, error, retry: attempt });
    }
  };

  useEffect(() => {
    const onKey = (e) => {
      if (dialog || help || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.target.closest?.("input, select, textarea")) return;
      if (e.key.startsWith("Arrow") && moveFocus(e)) return e.preventDefault();
      const actions = {
        t: today, j: () => shift(1), k: () => shift(-1),
        d: () => go({ view: "day" }), w: () => go({ view: "week", channel: channel?.id }), c: () => newEvent(),
        s: newSeries, r: () => refresh(true), "?": () => setHelp(true),
      };
      if (actions[e.key]) {
        e.preventDefault();
        actions[e.key]();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  });

  const bookings = merge(events, occurrences);
  const zones = [...new Set([browserZone(), "UTC", ...(channels || []).map((c) => c.timezone)])];
  const heading = route.view === "week" ? `Week of ${longDate(weekDate)}` : longDate(route.date);
  const open = (booking) => setDialog({ type: "booking", booking });

  return html`
    <header class="top">
      <h1><span class="logo" aria-hidden="true"></span> onair</h1>
      <nav class="toolbar" aria-label="Calendar">
        <div class="segmented" role="group" aria-label="View">
          <button type="button" aria-pressed=${route.view === "day"} onClick=${() => go({ view: "day" })}>Day</button>
          <button type="button" aria-pressed=${route.view === "week"} onClick=${() => go({ view: "week", channel: channel?.id })}>Week</button>
        </div>
        <div class="segmented" role="group" aria-label="Move through the calendar">
          <button type="button" aria-label=${route.view === "week" ? "Previous week" : "Previous day"} onClick=${() => shift(-1)}>‹</button>
          <button type="button" onClick=${today}>Today</button>
          <button type="button" aria-label=${route.view === "week" ? "Next week" : "Next day"} onClick=${() => shift(1)}>›</button>
        </div>
        <input type="date" aria-label="Go to date" value=${route.date} onChange=${(e) => e.currentTarget.value && go({ date: e.currentTarget.value })} />
        ${route.view === "week"
          ? html`<select aria-label="Room" value=${channel?.id || ""} onChange=${(e) => go({ channel: e.currentTarget.value })}>
              ${(channels || []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>`
          : html`<select aria-label="Show times in" value=${zone} onChange=${(e) => setZone(e.currentTarget.value)}>
              ${zones.map((z) => html`<option value=${z}>${z === browserZone() ? `${z} (this browser)` : z}</option>`)}</select>`}
        <button type="button" class="primary" onClick=${() => newEvent()} disabled=${!channels?.length}>New event</button>
        <button type="button" onClick=${newSeries} disabled=${!channels?.length}>New series</button>
        <button type="button" onClick=${() => setDialog({ type: "feed" })} disabled=${!channels}>Calendar feed</button>
        <button type="button" onClick=${() => refresh(true)} aria-label="Refresh">↻</button>
        <button type="button" onClick=${() => setHelp(true)} aria-label="Keyboard shortcuts">?</button>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </nav>
    </header>
    <main>
      <div class="heading">
        <h2>${heading}</h2>
        <p class="updated muted">${updated ? `updated ${updated.toLocaleTimeString("en-GB")}` : "loading…"}</p>
      </div>
      <p class=${`notice ${notice?.kind || ""}`} role="status" aria-live="polite">${notice?.text || ""}</p>
      ${channels === null
        ? html`<p class="loading">Loading…</p>`
        : route.view === "week"
          ? html`<${WeekView} date=${weekDate} channel=${channel} bookings=${bookings} now=${now}
              onOpen=${open} onMove=${onMove} onSelect=${(ch, from, to) => newEvent(ch, from, to)} />`
          : html`<${DayView} date=${route.date} zone=${zone} channels=${channels} bookings=${bookings} now=${now}
              onOpen=${open} onMove=${onMove} onSelect=${(ch, from, to) => newEvent(ch, from, to)}
              onWeek=${(id) => go({ view: "week", channel: id })} />`}
      <${Legend} />
      <p class="muted small">Drag across free time (or click its start, then its end) to book it; drag a booking to move it, its right or bottom edge to resize it. Press <kbd>?</kbd> for the keyboard.</p>
    </main>
    ${dialog?.type === "booking" && html`<${BookingDialog} booking=${dialog.booking} channels=${channels} actions=${CONFIG.actions} pulse=${updated}
      onClose=${(text) => { setDialog(null); if (typeof text === "string") setNotice({ text, kind: "ok" }); refresh(true); }} onChanged=${() => refresh(true)} />`}
    ${dialog?.type === "create" && html`<${CreateEvent} channels=${channels} initial=${dialog.initial} onClose=${() => setDialog(null)} onDone=${done} />`}
    ${dialog?.type === "feed" && html`<${FeedDialog} channels=${channels} onClose=${() => setDialog(null)} />`}
    ${dialog?.type === "series" && html`<${CreateSeries} channels=${channels} initial=${dialog.initial} onClose=${() => setDialog(null)} onDone=${done} />`}
    ${dialog?.type === "move" && html`<${MoveConflict} booking=${dialog.booking} error=${dialog.error} retry=${dialog.retry}
      zone=${channels.find((c) => c.id === dialog.booking.channelId)?.timezone || "UTC"} onClose=${() => { setDialog(null); refresh(true); }} />`}
    ${help && html`<${Dialog} title="Keyboard" onClose=${() => setHelp(false)}>
      <dl class="shortcuts">${SHORTCUTS.map(([k, what]) => html`<dt><kbd>${k}</kbd></dt><dd>${what}</dd>`)}</dl>
    </${Dialog}>`}`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(key.get()));
  const [reason, setReason] = useState(null);
  useEffect(() => {
    const onUnauthorised = () => {
      key.clear();
      setReason("The API key was refused (revoked?). Sign in again.");
      setSignedIn(false);
    };
    addEventListener("onair:unauthorised", onUnauthorised);
    return () => removeEventListener("onair:unauthorised", onUnauthorised);
  }, []);
  if (!signedIn) return html`<${SignIn} reason=${reason} onSignedIn=${() => { setReason(null); setSignedIn(true); }} />`;
  return html`<${Console} onSignOut=${() => { key.clear(); setSignedIn(false); }} />`;
}

document.getElementById("app").textContent = "";
render(html`<${App} />`, document.getElementById("app"));
