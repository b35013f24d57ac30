// A new series: the simple rule form (frequency, interval, days, count or until) with a live preview of
// its occurrences from POST /v1/recurrence/preview, conflicts on the channel included.

import { html, useEffect, useState } from "./html.js";
import { ApiError, request } from "./api.js";
import { attempt, ConflictPanel, Dialog, Field, Problem, TitleAndChannel, useNewBooking } from "./dialogs.js";
import { clock, dateIn, longDate } from "./time.js";

const DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const FREQUENCIES = ["daily", "weekly", "monthly", "yearly"];
const UNITS = { daily: "days", weekly: "weeks", monthly: "months", yearly: "years" };
const PREVIEW_LIMIT = 12;
const DEBOUNCE_MS = 350;

/** The day code (MON…SUN) of a datetime-local value. */
function dayOf(local) {
  const [y, mo, d] = local.slice(0, 10).split("-").map(Number);
  return DAYS[(new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7];
}

/** The API's simple recurrence form from the builder's fields. */
export function rule({ frequency, interval, days, ends, count, until }) {
  const recurrence = { frequency, interval: Number(interval) || 1 };
  if (frequency === "weekly" && days.length) recurrence.days = DAYS.filter((d) => days.includes(d));
  if (ends === "count") recurrence.count = Number(count) || 1;
  if (ends === "until" && until) recurrence.until = until;
  return recurrence;
}

function Preview({ preview, zone }) {
  if (!preview) return html`<p class="muted">Preview…</p>`;
  if (preview instanceof ApiError) return html`<p class="muted">No preview: ${preview.message}</p>`;
  const clashes = preview.occurrences.filter((o) => o.conflicts?.length).length;
  return html`
    <div class="preview" aria-live="polite">
      <p><strong>${preview.occurrences.length}${preview.truncated ? "+" : ""}</strong> occurrence${preview.occurrences.length === 1 ? "" : "s"}
        ${clashes ? html`, <strong class="warn">${clashes} with conflicts</strong>` : ", no conflicts"}</p>
      <ol>
        ${preview.occurrences.map((o) => {
          const start = Date.parse(o.start);
          const conflicts = o.conflicts || [];
          return html`<li class=${conflicts.length ? "clash" : ""}>
            ${longDate(dateIn(start, zone))} ${clock(start, zone)}–${clock(Date.parse(o.end), zone)}
            ${conflicts.length > 0 && html` <span class="warn">⚠ overlaps ${conflicts.map((c) => c.title || "a booking").join(", ")}</span>`}
          </li>`;
        })}
      </ol>
      ${preview.truncated && html`<p class="muted">The first ${PREVIEW_LIMIT} are shown.</p>`}
    </div>`;
}

export function CreateSeries({ channels, initial, onClose, onDone }) {
  const form = useNewBooking(channels, initial);
  const { title, channelId, zone, start, setStart, error, setError, busy, setBusy } = form;
  const [minutes, setMinutes] = useState(initial.minutes || 60);
  const [frequency, setFrequency] = useState("weekly");
  const [interval, setInterval_] = useState(1);
  const [chosenDays, setDays] = useState(null); // until days are chosen, the first start's weekday
  const days = chosenDays || [dayOf(start)];
  const [ends, setEnds] = useState("count");
  const [count, setCount] = useState(10);
  const [until, setUntil] = useState("");
  const [preview, setPreview] = useState(null);

  const body = {
    title, channel_id: channelId, start: `${start}:00`, timezone: zone, duration: Number(minutes) * 60,
    recurrence: rule({ frequency, interval, days, ends, count, until }),
  };
  const key = JSON.stringify({ ...body, title: "" });
  useEffect(() => {
    let stale = false;
    const timer = setTimeout(async () => {
      try {
        const { title: _, ...rest } = body;
        const { data } = await request("POST", "v1/recurrence/preview", { body: { ...rest, limit: PREVIEW_LIMIT } });
        if (!stale) setPreview(data);
      } catch (e) {
        if (!stale && e instanceof ApiError) setPreview(e);
      }
    }, DEBOUNCE_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [key]);

  const submit = (extra = {}) =>
    attempt(setBusy, setError, async () => {
      const { data } = await request("POST", "v1/schedules", { body: { ...body, ...extra } });
      onDone(`Created the series “${data.title}”.`);
    });
  const fields = error ? error.fields() : {};
  const toggle = (day) => setDays(days.includes(day) ? days.filter((d) => d !== day) : [...days, day]);

  return html`
    <${Dialog} title="New series" onClose=${onClose} wide>
      <form class="form series" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
        <div class="series-fields">
          <${TitleAndChannel} form=${form} channels=${channels} fields=${fields} />
          <div class="pair first-wide">
            <${Field} label=${`First start (${zone})`} error=${fields["/start"]}>
              <input type="datetime-local" required value=${start} onInput=${(e) => setStart(e.currentTarget.value)} />
            </${Field}>
            <${Field} label="Duration (minutes)" error=${fields["/duration"]}>
              <input type="number" min="1" required value=${minutes} onInput=${(e) => setMinutes(e.currentTarget.value)} />
            </${Field}>
          </div>
          <div class="pair">
            <${Field} label="Repeats">
              <select value=${frequency} onChange=${(e) => setFrequency(e.currentTarget.value)}>
                ${FREQUENCIES.map((f) => html`<option value=${f}>${f}</option>`)}
              </select>
            </${Field}>
            <${Field} label=${`Every (${UNITS[frequency]})`}>
              <input type="number" min="1" max="999" value=${interval} aria-label="Interval" onInput=${(e) => setInterval_(e.currentTarget.value)} />
            </${Field}>
          </div>
          ${frequency === "weekly" && html`
            <fieldset class="days"><legend>On</legend>
              ${DAYS.map((d) => html`<label><input type="checkbox" checked=${days.includes(d)} onChange=${() => toggle(d)} /> ${d.slice(0, 1) + d.slice(1).toLowerCase()}</label>`)}
            </fieldset>`}
          <fieldset class="ends"><legend>Ends</legend>
            <label><input type="radio" name="ends" checked=${ends === "count"} onChange=${() => setEnds("count")} /> after
              <input type="number" min="1" max="10000" value=${count} aria-label="Number of occurrences" onInput=${(e) => { setEnds("count"); setCount(e.currentTarget.value); }} /> occurrences</label>
            <label><input type="radio" name="ends" checked=${ends === "until"} onChange=${() => setEnds("until")} /> on
              <input type="date" value=${until} aria-label="Last day" onInput=${(e) => { setEnds("until"); setUntil(e.currentTarget.value); }} /></label>
            <label><input type="radio" name="ends" checked=${ends === "never"} onChange=${() => setEnds("never")} /> never</label>
          </fieldset>
        </div>
        <section class="series-preview" aria-label="Preview of the occurrences">
          <h3>Preview</h3>
          <${Preview} preview=${preview} zone=${zone} />
        </section>
        <${Problem} error=${error} />
        ${error?.problem?.conflicts && html`
          <${ConflictPanel} error=${error} zone=${zone} busy=${busy} onAccept=${() => submit({ allow_conflict: true })} />`}
        <div class="buttons">
          <button type="submit" class="primary" disabled=${busy}>Create series</button>
          <button type="button" onClick=${onClose}>Cancel</button>
        </div>
      </form>
    </${Dialog}>`;
}
