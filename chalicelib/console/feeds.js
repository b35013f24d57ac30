// The "Calendar feed" dialog: a secret iCalendar URL of one room or all of them, for Outlook, Google or
// Apple Calendar (docs/feeds.md), and the tenant's feeds with a way to revoke each. Needs an admin key.

import { html, useEffect, useState } from "./html.js";
import { all, ApiError, request } from "./api.js";
import { attempt, Dialog, Field, Problem } from "./dialogs.js";

export function FeedDialog({ channels, onClose }) {
  const [name, setName] = useState("onair rooms");
  const [channelId, setChannelId] = useState(""); // "" means every room
  const [created, setCreated] = useState(null);
  const [feeds, setFeeds] = useState([]);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const fields = error ? error.fields() : {};

  const load = () =>
    all("v1/feeds").then(setFeeds, (e) => {
      if (!(e instanceof ApiError)) throw e;
      setError(e);
    });
  useEffect(() => { load(); }, []);

  const create = () =>
    attempt(setBusy, setError, async () => {
      const body = { name, channel_ids: channelId ? [channelId] : null };
      const { data } = await request("POST", "v1/feeds", { body });
      setCreated(data);
      await load();
    });
  const revoke = (feed) =>
    attempt(setBusy, setError, async () => {
      await request("DELETE", `v1/feeds/${feed.id}`);
      if (created?.id === feed.id) setCreated(null);
      await load();
    });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.url);
      setCopied(true);
    } catch {
      document.getElementById("feed-url").select(); // no clipboard here: select it for Ctrl+C
    }
  };
  const rooms = (ids) => (ids ? ids.map((id) => channels.find((c) => c.id === id)?.name || id).join(", ") : "all rooms");

  return html`
    <${Dialog} title="Calendar feed" onClose=${onClose}>
      <p class="muted small">A secret link that Outlook, Google Calendar or Apple Calendar can subscribe to:
        the bookings from 30 days ago to a year ahead. Anyone who has the link can read it, so revoke it
        below if it leaks.</p>
      ${created
        ? html`
          <div class="form">
            <${Field} label="Subscription URL" hint="Shown once: onair keeps only a hash of its secret.">
              <input id="feed-url" readonly value=${created.url} onFocus=${(e) => e.currentTarget.select()} />
            </${Field}>
            <div class="buttons">
              <button type="button" class="primary" onClick=${copy}>${copied ? "Copied" : "Copy URL"}</button>
              <a class="button" href=${created.url.replace(/^https?:/, "webcal:")}>Open in a calendar app</a>
            </div>
          </div>`
        : html`
          <form class="form" onSubmit=${(e) => { e.preventDefault(); create(); }}>
            <${Field} label="Name" error=${fields["/name"]}>
              <input required maxlength="200" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
            </${Field}>
            <${Field} label="Rooms">
              <select value=${channelId} onChange=${(e) => setChannelId(e.currentTarget.value)}>
                <option value="">All rooms</option>
                ${channels.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
              </select>
            </${Field}>
            <div class="buttons"><button type="submit" class="primary" disabled=${busy}>Create feed</button></div>
          </form>`}
      <${Problem} error=${error} />
      ${feeds.length > 0 && html`
        <ul class="feeds" aria-label="Feeds">
          ${feeds.map((f) => html`
            <li><span>${f.name} · ${rooms(f.channel_ids)} · <code>${f.prefix}…</code></span>
              <button type="button" class="danger" disabled=${busy} aria-label=${`Revoke ${f.name}`}
                onClick=${() => revoke(f)}>Revoke</button></li>`)}
        </ul>`}
      <div class="buttons"><button type="button" onClick=${onClose}>Close</button></div>
    </${Dialog}>`;
}
