// Dialogs: a booking's details, history and actions; creating an event; a move that hit a conflict.
// Native <dialog> (modal, Escape closes, focus returns to what opened it). Every change is guarded by
// the record's ETag (If-Match): a 412 reloads the record and says so.

import { html, useEffect, useRef, useState } from "./html.js";
import { ApiError, get, request, segment } from "./api.js";
import { PLANNED } from "./bookings.js";
import { STATE_TEXT } from "./timeline.js";
import { clock, fromLocalInput, iso, span, stamp, toLocalInput } from "./time.js";

export const ACTION_LABELS = {
  provision: "Provision", start: "Start", stop: "Stop", force_stop: "Force stop", publish: "Publish",
  unpublish: "Unpublish", cancel: "Cancel event", extend: "Extend", set_vod: "Set recording visibility",
};
const CONFIRM = new Set(["cancel", "force_stop"]);
const STALE = "This booking changed since it was opened, so nothing was done. It has been reloaded: check it and try again.";

export function Dialog({ title, onClose, children, wide }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return html`
    <dialog ref=${ref} class=${wide ? "wide" : ""} aria-labelledby="dialog-title"
      onCancel=${(e) => { e.preventDefault(); onClose(); }}>
      <header class="dialog-head">
        <h2 id="dialog-title">${title}</h2>
        <button type="button" class="close" aria-label="Close" onClick=${onClose}>×</button>
      </header>
      ${children}
    </dialog>`;
}

export function Field({ label, error, hint, children }) {
  return html`
    <label class=${error ? "field invalid" : "field"}>
      <span class="label">${label}</span>
      ${children}
      ${hint && html`<span class="hint">${hint}</span>`}
      ${error && html`<span class="error">${error}</span>`}
    </label>`;
}

/** An error that is not about one field, as a sentence. */
export function Problem({ error }) {
  if (!error || error.problem?.conflicts) return null;
  const fields = Object.entries(error.fields()).filter(([pointer]) => !pointer.match(/^\/(title|start|end|channel_id|duration)$/));
  return html`
    <div class="problem" role="alert">
      <strong>${error.problem.title || "Refused"}</strong> ${error.message}
      ${fields.length > 0 && html`<ul>${fields.map(([p, d]) => html`<li><code>${p}</code> ${d}</li>`)}</ul>`}
    </div>`;
}

/** A 409's conflicts, with the suggested free slot one click away and the option to accept the overlap. */
export function ConflictPanel({ error, zone, onSuggestion, onAccept, busy }) {
  const { conflicts, suggestion } = error.problem;
  return html`
    <div class="conflicts" role="alert">
      <p><strong>Conflict:</strong> this overlaps ${conflicts.length} booking${conflicts.length === 1 ? "" : "s"} on the channel.</p>
      <ul>
        ${conflicts.map(
          (c) => html`<li>
            <span class="c-title">${c.title || "a booking"}</span> ${stamp(Date.parse(c.start), zone)}–${clock(Date.parse(c.end), zone)}
            ${c.kind === "blocked" ? " (wholly inside it)" : " (partly)"}${c.event_id ? "" : " · series occurrence"}
          </li>`,
        )}
      </ul>
      <div class="buttons">
        ${suggestion && onSuggestion && html`
          <button type="button" class="primary" disabled=${busy} onClick=${() => onSuggestion(suggestion)}>
            Take the free slot ${stamp(Date.parse(suggestion.start), zone)}–${clock(Date.parse(suggestion.end), zone)}
          </button>`}
        ${onAccept && html`<button type="button" disabled=${busy} onClick=${onAccept}>Keep this time and accept the overlap</button>`}
      </div>
    </div>`;
}

/** Run `work`; a 409 with conflicts or any other ApiError lands in `setError`. Returns whether it worked. */
export async function attempt(setBusy, setError, work) {
  setBusy(true);
  setError(null);
  try {
    await work();
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    setError(error);
    return false;
  } finally {
    setBusy(false);
  }
}

/** The start/end inputs of a booking form, in the channel's zone. */
function TimeFields({ zone, start, end, setStart, setEnd, fields }) {
  const startMs = fromLocalInput(start, zone);
  const endMs = fromLocalInput(end, zone);
  return html`
    <div class="pair">
      <${Field} label=${`Start (${zone})`} error=${fields["/start"]}>
        <input type="datetime-local" required value=${start} onInput=${(e) => setStart(e.currentTarget.value)} />
      </${Field}>
      <${Field} label=${`End (${zone})`} error=${fields["/end"]}
        hint=${endMs > startMs ? span(endMs - startMs) : "after the start"}>
        <input type="datetime-local" required value=${end} onInput=${(e) => setEnd(e.currentTarget.value)} />
      </${Field}>
    </div>`;
}

/** What both "new" forms start with: a title, a room (whose zone the times are in), a first start. */
export function useNewBooking(channels, initial) {
  const [title, setTitle] = useState("");
  const [channelId, setChannelId] = useState(initial.channelId || channels[0]?.id);
  const channel = channels.find((c) => c.id === channelId) || channels[0];
  const zone = channel?.timezone || "UTC";
  const [start, setStart] = useState(toLocalInput(initial.start, zone));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  return { title, setTitle, channelId, setChannelId, zone, start, setStart, error, setError, busy, setBusy };
}

/** The title and room fields of a "new" form. */
export function TitleAndChannel({ form, channels, fields }) {
  return html`
    <${Field} label="Title" error=${fields["/title"]}>
      <input value=${form.title} required maxlength="500" autofocus onInput=${(e) => form.setTitle(e.currentTarget.value)} />
    </${Field}>
    <${Field} label="Channel" error=${fields["/channel_id"]}>
      <select value=${form.channelId} onChange=${(e) => form.setChannelId(e.currentTarget.value)}>
        ${channels.map((c) => html`<option value=${c.id}>${c.name} (${c.timezone})</option>`)}
      </select>
    </${Field}>`;
}

export function CreateEvent({ channels, initial, onClose, onDone }) {
  const form = useNewBooking(channels, initial);
  const { title, channelId, zone, start, setStart, error, setError, busy, setBusy } = form;
  const [end, setEnd] = useState(toLocalInput(initial.end, zone));
  const fields = error ? error.fields() : {};

  const submit = (extra = {}) =>
    attempt(setBusy, setError, async () => {
      const body = {
        title, channel_id: channelId,
        start: iso(fromLocalInput(start, zone)), end: iso(fromLocalInput(end, zone)), ...extra,
      };
      if (Number.isNaN(fromLocalInput(start, zone)) || Number.isNaN(fromLocalInput(end, zone))) {
        throw new ApiError(422, { title: "Invalid request", detail: "Enter a start and an end.", errors: [] });
      }
      const { data } = await request("POST", "v1/events", { body });
      onDone(`Booked “${data.title}” ${stamp(Date.parse(data.start), zone)}–${clock(Date.parse(data.end), zone)}.`);
    });

  return html`
    <${Dialog} title="New event" onClose=${onClose}>
      <form class="form" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
        <${TitleAndChannel} form=${form} channels=${channels} fields=${fields} />
        <${TimeFields} zone=${zone} start=${start} end=${end} setStart=${setStart} setEnd=${setEnd} fields=${fields} />
        <${Problem} error=${error} />
        ${error?.problem?.conflicts && html`
          <${ConflictPanel} error=${error} zone=${zone} busy=${busy}
            onSuggestion=${(s) => submit({ start: s.start, end: s.end })}
            onAccept=${() => submit({ allow_conflict: true })} />`}
        <div class="buttons">
          <button type="submit" class="primary" disabled=${busy}>Book</button>
          <button type="button" onClick=${onClose}>Cancel</button>
        </div>
      </form>
    </${Dialog}>`;
}

/** A drag that moved a booking onto others: the same choices as the forms. */
export function MoveConflict({ booking, error, zone, retry, onClose }) {
  const [current, setCurrent] = useState(error);
  const [busy, setBusy] = useState(false);
  const again = (extra) => attempt(setBusy, setCurrent, () => retry(extra)).then((ok) => ok && onClose());
  return html`
    <${Dialog} title=${`Move “${booking.title}”`} onClose=${onClose}>
      ${current?.problem?.conflicts
        ? html`<${ConflictPanel} error=${current} zone=${zone} busy=${busy}
            onSuggestion=${(s) => again({ start: s.start, end: s.end })}
            onAccept=${() => again({ allow_conflict: true })} />`
        : html`<${Problem} error=${current} />`}
      <div class="buttons"><button type="button" onClick=${onClose}>Leave it where it was</button></div>
    </${Dialog}>`;
}

/** Move or resize a booking: an event by PATCH (If-Match), a series occurrence through its series. */
export async function moveBooking(booking, from, to, extra = {}) {
  const body = { start: iso(from), end: iso(to), ...extra };
  if (booking.scheduleId && booking.occurrenceStart) {
    const path = `v1/schedules/${booking.scheduleId}/occurrences/${segment(booking.occurrenceStart)}`;
    return request("PATCH", path, { body, contentType: "application/merge-patch+json" });
  }
  const { etag } = await get(`v1/events/${booking.eventId}`);
  return request("PATCH", `v1/events/${booking.eventId}`, { body, etag, contentType: "application/merge-patch+json" });
}

function History({ items, zone }) {
  if (!items) return null;
  if (!items.length) return html`<p class="muted">No state changes yet.</p>`;
  return html`
    <ol class="history">
      ${items.map((h) => html`<li><time>${stamp(Date.parse(h.at), zone)}</time> ${h.from} → <strong>${h.to}</strong>
        <span class="muted">by ${h.actor?.name ?? h.actor}${h.reason ? ` · ${h.reason}` : ""}</span></li>`)}
    </ol>`;
}

function Actions({ event, allowed, busy, run }) {
  const [minutes, setMinutes] = useState(15);
  const [visibility, setVisibility] = useState("private");
  const [confirming, setConfirming] = useState(null);
  if (!allowed.length) return html`<p class="muted">No action applies while it is ${event.state}.</p>`;
  return html`
    <div class="actions" role="group" aria-label="Actions">
      ${allowed.map((name) => {
        if (name === "extend") {
          return html`<span class="inline">
            <input type="number" min="1" max="1440" value=${minutes} aria-label="Minutes to extend by"
              onInput=${(e) => setMinutes(Number(e.currentTarget.value))} />
            <button type="button" disabled=${busy} onClick=${() => run("extend", { seconds: minutes * 60 })}>Extend by ${minutes} min</button>
          </span>`;
        }
        if (name === "set_vod") {
          return html`<span class="inline">
            <select value=${visibility} aria-label="Recording visibility" onChange=${(e) => setVisibility(e.currentTarget.value)}>
              ${["none", "private", "public"].map((v) => html`<option value=${v}>${v}</option>`)}
            </select>
            <button type="button" disabled=${busy} onClick=${() => run("set_vod", { visibility })}>${ACTION_LABELS.set_vod}</button>
          </span>`;
        }
        if (CONFIRM.has(name) && confirming !== name) {
          return html`<button type="button" class="danger" disabled=${busy} onClick=${() => setConfirming(name)}>${ACTION_LABELS[name]}…</button>`;
        }
        if (CONFIRM.has(name)) {
          return html`<span class="inline confirm">${ACTION_LABELS[name]}?
            <button type="button" class="danger" disabled=${busy} onClick=${() => { setConfirming(null); run(name); }}>Yes, ${ACTION_LABELS[name].toLowerCase()}</button>
            <button type="button" onClick=${() => setConfirming(null)}>No</button></span>`;
        }
        return html`<button type="button" class=${name === "start" ? "primary" : ""} disabled=${busy} onClick=${() => run(name)}>${ACTION_LABELS[name]}</button>`;
      })}
    </div>`;
}

const SCOPES = [
  ["this", "This occurrence"],
  ["following", "This and following"],
  ["all", "All occurrences"],
];

export function BookingDialog({ booking, channels, actions, pulse, onClose, onChanged }) {
  const channel = channels.find((c) => c.id === booking.channelId);
  const zone = channel?.timezone || "UTC";
  const [event, setEvent] = useState(null);
  const [etag, setEtag] = useState(null);
  const [history, setHistory] = useState(null);
  const [schedule, setSchedule] = useState(null);
  const [scheduleEtag, setScheduleEtag] = useState(null);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [title, setTitle] = useState(booking.title);
  const [start, setStart] = useState(toLocalInput(booking.start, zone));
  const [end, setEnd] = useState(toLocalInput(booking.end, zone));
  const [scope, setScope] = useState("this");
  const series = Boolean(booking.scheduleId && booking.occurrenceStart);

  /** Load the event (and its series); `fill` also resets the form to what is stored. */
  const load = async (fill = true) => {
    if (booking.eventId) {
      const [one, log] = await Promise.all([get(`v1/events/${booking.eventId}`), get(`v1/events/${booking.eventId}/history`)]);
      setEvent(one.data);
      setEtag(one.etag);
      setHistory(log.data.items);
      if (fill) {
        setTitle(one.data.title);
        setStart(toLocalInput(Date.parse(one.data.start), zone));
        setEnd(toLocalInput(Date.parse(one.data.end), zone));
      }
    }
    if (booking.scheduleId && fill) {
      const found = await get(`v1/schedules/${booking.scheduleId}`);
      setSchedule(found.data);
      setScheduleEtag(found.etag);
    }
  };
  useEffect(() => {
    load().catch((e) => (e instanceof ApiError ? setError(e) : Promise.reject(e)));
  }, [booking.key]);
  // While open, follow the event's state as the console polls (the form keeps what is being typed).
  useEffect(() => {
    if (pulse && booking.eventId && !busy) load(false).catch(() => {});
  }, [pulse]);

  // Every change: a 412 (changed meanwhile) reloads and says so; other refusals are shown as they are.
  const guarded = async (work) => {
    setNotice(null);
    setError(null);
    setBusy(true);
    try {
      setNotice({ text: await work(), kind: "ok" });
      onChanged();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 412) {
        await load();
        setNotice({ text: STALE, kind: "warn" });
        onChanged();
      } else setError(e);
    } finally {
      setBusy(false);
    }
  };

  const run = (action, extra = {}) =>
    guarded(async () => {
      const { data, etag: next } = await request("POST", `v1/events/${event.id}/actions`, { body: { action, ...extra }, etag });
      setEvent(data);
      setEtag(next);
      setHistory((await get(`v1/events/${event.id}/history`)).data.items);
      return `${ACTION_LABELS[action]}: done. The event is ${data.state}.`;
    });

  const save = (extra = {}, slot = null) => {
    const from = slot ? slot.from : fromLocalInput(start, zone);
    const to = slot ? slot.to : fromLocalInput(end, zone);
    if (slot) {
      setStart(toLocalInput(from, zone));
      setEnd(toLocalInput(to, zone));
    }
    return guarded(async () => {
      const times = { start: iso(from), end: iso(to) };
      const merge = "application/merge-patch+json";
      if (!series) {
        const { data, etag: next } = await request("PATCH", `v1/events/${event.id}`, { body: { title, ...times, ...extra }, etag, contentType: merge });
        setEvent(data);
        setEtag(next);
      } else if (scope === "this") {
        const path = `v1/schedules/${schedule.id}/occurrences/${segment(booking.occurrenceStart)}`;
        await request("PATCH", path, { body: { title, ...times, ...extra }, contentType: merge });
      } else if (scope === "following") {
        const changes = { title, start: `${toLocalInput(from, schedule.timezone)}:00`, duration: Math.round((to - from) / 1000) };
        await request("POST", `v1/schedules/${schedule.id}/split`, { body: { at: booking.occurrenceStart, changes, ...extra } });
      } else {
        const changes = { title, duration: Math.round((to - from) / 1000), ...extra };
        const newTime = toLocalInput(from, schedule.timezone).slice(11);
        if (newTime !== schedule.start.slice(11, 16)) changes.start = `${schedule.start.slice(0, 10)}T${newTime}:00`;
        const { data, etag: next } = await request("PATCH", `v1/schedules/${schedule.id}`, { body: changes, etag: scheduleEtag, contentType: merge });
        setSchedule(data);
        setScheduleEtag(next);
      }
      return series && scope === "following" ? "Saved: a new series takes over from this occurrence." : "Saved.";
    });
  };

  const skip = () =>
    guarded(async () => {
      await request("DELETE", `v1/schedules/${booking.scheduleId}/occurrences/${segment(booking.occurrenceStart)}`);
      onClose(`Skipped “${booking.title}” on ${stamp(booking.start, zone)}.`);
      return "Skipped.";
    });

  const state = event?.state || booking.state;
  const from = event ? Date.parse(event.start) : booking.start;
  const to = event ? Date.parse(event.end) : booking.end;
  const fields = error ? error.fields() : {};
  const editable = !["completed", "cancelled", "failed", "stopped"].includes(state);
  return html`
    <${Dialog} title=${event?.title || booking.title} onClose=${onClose} wide>
      <div class="details">
        <p class="badges">
          <span class=${`badge st-${state}`}>${STATE_TEXT[state] || state}</span>
          ${series && html`<span class="badge">series: ${schedule?.title || "…"}</span>`}
          ${booking.overlaps?.length > 0 && html`<span class="badge warn">⚠ overlaps another booking (accepted)</span>`}
          ${event?.published && html`<span class="badge">published</span>`}
        </p>
        <dl>
          <dt>Channel</dt><dd>${channel?.name || booking.channelId} <span class="muted">(${zone})</span></dd>
          <dt>When</dt><dd>${stamp(from, zone)}–${clock(to, zone)} <span class="muted">${span(to - from)} · ${iso(from)}</span></dd>
          ${event && html`<dt>Runs</dt><dd>start ${event.start_mode}, end ${event.end_mode}; record ${event.record ? "yes" : "no"}; after stop: ${event.publish}; recording: ${event.vod}</dd>`}
          ${series && html`<dt>Occurrence</dt><dd>${booking.occurrenceStart}${schedule ? html` · ${schedule.recurrence.rrule || schedule.recurrence.frequency} in ${schedule.timezone}` : ""}</dd>`}
          ${event?.tags?.length > 0 && html`<dt>Tags</dt><dd>${event.tags.join(", ")}</dd>`}
          ${event?.external_id && html`<dt>External id</dt><dd>${event.external_id}</dd>`}
        </dl>
      </div>
      ${notice && html`<p class=${`notice ${notice.kind}`} role="status">${notice.text}</p>`}
      <${Problem} error=${error} />
      ${error?.problem?.conflicts && html`
        <${ConflictPanel} error=${error} zone=${zone} busy=${busy}
          onSuggestion=${(s) => save({}, { from: Date.parse(s.start), to: Date.parse(s.end) })}
          onAccept=${() => save({ allow_conflict: true })} />`}
      ${event && html`<section aria-label="Lifecycle"><h3>Actions</h3>
        <${Actions} event=${event} allowed=${actions[event.state] || []} busy=${busy} run=${run} /></section>`}
      ${booking.state === PLANNED && html`<p class="muted">Not an event yet: the series books it, and it becomes an event when it comes within the materialisation horizon.</p>`}
      ${(event || series) && editable && html`
        <section aria-label="Change"><h3>Change</h3>
          <form class="form" onSubmit=${(e) => { e.preventDefault(); save(); }}>
            ${series && html`<fieldset class="scope"><legend>Apply to</legend>
              ${SCOPES.map(([value, label]) => html`<label><input type="radio" name="scope" value=${value}
                checked=${scope === value} onChange=${() => setScope(value)} /> ${label}</label>`)}
            </fieldset>`}
            <${Field} label="Title" error=${fields["/title"]}>
              <input value=${title} required maxlength="500" onInput=${(e) => setTitle(e.currentTarget.value)} />
            </${Field}>
            <${TimeFields} zone=${zone} start=${start} end=${end} setStart=${setStart} setEnd=${setEnd} fields=${fields} />
            <div class="buttons">
              <button type="submit" class="primary" disabled=${busy}>Save</button>
              ${series && html`<button type="button" class="danger" disabled=${busy} onClick=${skip}>Skip this occurrence</button>`}
            </div>
          </form>
        </section>`}
      ${booking.eventId && html`<section aria-label="History"><h3>History</h3><${History} items=${history} zone=${zone} /></section>`}
    </${Dialog}>`;
}
