"""The agent registry, the digest server secret and the replay guard (docs/dynamodb.md, "Room recorders").

- One item per agent name, `pk = AGENTS`, `sk = <name>`: the tenant and channel it records for, its
  HA1 hashes, and what it last reported (state, address, configuration, the recording it uploads). The
  channel write that names the agent puts it in the same transaction (`claim_ops`), with
  `attribute_not_exists`, so a name belongs to one channel in the whole deployment. Agents do not know
  tenants: the name is all they send.
- The digest server secret: `pk = CONFIG`, `sk = AGENT_DIGEST_SECRET`, created once by whichever Lambda
  needs it first (conditional put), unless `ONAIR_AGENT_SECRET` provides it.
- Replays: every verified request puts `pk = NONCE#<nonce>#<nc>#<cnonce>` with `attribute_not_exists`
  and a TTL, so the same Authorization header works once.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, Table
from chalicelib.domain.models import Channel, OpencastAgentDriver
from chalicelib.domain.time import format_instant, parse_instant

AGENTS_PK = "AGENTS"
SECRET_KEY = ("CONFIG", "AGENT_DIGEST_SECRET")


@dataclass(frozen=True)
class AgentRecord:
    """An agent as the registry holds it."""

    name: str
    tenant_id: str
    channel_id: str
    digest: dict[str, str]
    state: str | None = None
    last_seen: datetime | None = None
    address: str | None = None
    uploading: str | None = None
    configuration: dict[str, str] = field(default_factory=dict)


def _agent(channel: Channel | None) -> OpencastAgentDriver | None:
    return channel.driver if channel is not None and isinstance(channel.driver, OpencastAgentDriver) else None


def _record(item: dict[str, Any]) -> AgentRecord:
    return AgentRecord(
        name=item["sk"],
        tenant_id=item["tenant_id"],
        channel_id=item["channel_id"],
        digest=dict(item.get("digest") or {}),
        state=item.get("state"),
        last_seen=parse_instant(item["last_seen"]) if item.get("last_seen") else None,
        address=item.get("address"),
        uploading=item.get("uploading"),
        configuration=json.loads(item["configuration"]) if item.get("configuration") else {},
    )


class AgentRegistry:
    """Reads and conditional writes of the agent items."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def claim_ops(self, before: Channel | None, after: Channel | None) -> list[dict[str, Any]]:
        """The registry writes a channel write needs, as transaction operations (empty when none)."""
        old, new = _agent(before), _agent(after)
        ops: list[dict[str, Any]] = []
        if old is not None and (new is None or new.agent != old.agent):
            assert before is not None
            ops.append(
                {
                    "Delete": {
                        "Key": {"pk": AGENTS_PK, "sk": old.agent},
                        # Only ours; a missing item (never claimed) is fine to "delete".
                        "ConditionExpression": "attribute_not_exists(pk) OR channel_id = :ch",
                        "ExpressionAttributeValues": {":ch": before.id},
                    }
                }
            )
        if new is not None and after is not None:
            if old is not None and old.agent == new.agent:
                if new.digest != old.digest:
                    ops.append(
                        {
                            "Update": {
                                "Key": {"pk": AGENTS_PK, "sk": new.agent},
                                "UpdateExpression": "SET digest = :d, tenant_id = :t, channel_id = :ch",
                                "ConditionExpression": "attribute_not_exists(pk) OR channel_id = :ch",
                                "ExpressionAttributeValues": {
                                    ":d": new.digest,
                                    ":t": after.tenant_id,
                                    ":ch": after.id,
                                },
                            }
                        }
                    )
            else:
                item = {
                    "pk": AGENTS_PK,
                    "sk": new.agent,
                    "tenant_id": after.tenant_id,
                    "channel_id": after.id,
                    "digest": new.digest,
                }
                ops.append({"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}})
        return ops

    def get(self, name: str) -> AgentRecord | None:
        item = self.table.get(AGENTS_PK, name)
        return _record(item) if item else None

    def report(self, agent: AgentRecord, state: str, address: str | None, now: datetime) -> None:
        """Record the agent's state and that it was heard from now (only while it is still this channel's)."""
        values: dict[str, Any] = {":s": state, ":at": format_instant(now), ":ch": agent.channel_id}
        expression = "SET #state = :s, last_seen = :at"
        if address:
            expression += ", address = :a"
            values[":a"] = address[:500]
        self._update(agent, expression, values, {"#state": "state"})

    def seen(self, agent: AgentRecord, now: datetime) -> None:
        """Note that the agent was heard from (any authenticated request)."""
        self._update(agent, "SET last_seen = :at", {":at": format_instant(now), ":ch": agent.channel_id})

    def set_configuration(self, agent: AgentRecord, entries: dict[str, str]) -> None:
        self._update(
            agent,
            "SET configuration = :c",
            {":c": json.dumps(entries, sort_keys=True), ":ch": agent.channel_id},
        )

    def set_uploading(self, agent: AgentRecord, event_id: str | None) -> None:
        """Remember which recording the agent said it uploads (ingest binds mediapackages to it)."""
        if event_id is None:
            self._update(agent, "REMOVE uploading", {":ch": agent.channel_id})
        else:
            self._update(agent, "SET uploading = :e", {":e": event_id, ":ch": agent.channel_id})

    def _update(
        self, agent: AgentRecord, expression: str, values: dict[str, Any], names: dict[str, str] | None = None
    ) -> None:
        # A failed condition: the channel gave the name up meanwhile, nothing of the old agent to keep.
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                AGENTS_PK, agent.name, expression, condition="channel_id = :ch", values=values, names=names
            )

    def all(self) -> Iterator[AgentRecord]:
        """Every agent, page by page (one Query each; the scheduled job's cost grows with agents only)."""
        start = None
        while True:
            page = self.table.query("pk = :pk", {":pk": AGENTS_PK}, limit=100, start_key=start)
            yield from (_record(item) for item in page.items)
            if page.last_key is None:
                return
            start = page.last_key


class DigestState:
    """The server secret nonces are signed with, and the single-use record of verified requests."""

    def __init__(self, table: Table, configured: str = "") -> None:
        self.table = table
        self._secret = configured.encode() if configured else b""

    def secret(self) -> bytes:
        """The deployment's secret: configured, or read (and created once) in the table; cached."""
        if not self._secret:
            item = self.table.get(*SECRET_KEY)
            if item is None:
                with contextlib.suppress(ConditionFailed):  # another Lambda created it first: use theirs
                    self.table.put(
                        {"pk": SECRET_KEY[0], "sk": SECRET_KEY[1], "secret": secrets.token_hex(32)},
                        condition="attribute_not_exists(pk)",
                    )
                item = self.table.get(*SECRET_KEY)
            assert item is not None
            self._secret = str(item["secret"]).encode()
        return self._secret

    def use_once(self, key: str, now: datetime, lifetime: timedelta) -> bool:
        """Record a verified request; False when the same one was seen before (a replay)."""
        expires = now + lifetime + timedelta(minutes=5)
        try:
            self.table.put(
                {"pk": f"NONCE#{key}", "sk": "USED", "expires_at": int(expires.timestamp())},
                condition="attribute_not_exists(pk)",
            )
        except ConditionFailed:
            return False
        return True
