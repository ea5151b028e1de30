"""Poll Zendesk's incremental ticket event export and hand the mapped events to a sink.

The cursor is the export's ``end_time``. It is written to the state file (atomically) only
after a page's events were sent *and* flushed, so a crash or restart resumes at the last
page known to be delivered: a page may be sent twice, never skipped, and its events have
stable ids, so the worker drops the second copy. Zendesk's rate limit (429 with
``Retry-After``) is waited out, server errors and network failures are retried with capped
exponential backoff, and rejected credentials (401/403) stop the connector at once.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import itertools
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.connect.cursor import CursorFile
from stream.domain.sources.zendesk import map_incremental_events

__all__ = ["Credentials", "CursorFile", "PollStats", "ZendeskAuthError", "ZendeskConnector",
           "ZendeskError", "ZendeskUnavailableError"]  # fmt: skip

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/v2/incremental/ticket_events.json"
#: Agents and admins: the users whose comments are agent replies.
AGENTS_PATH = "/api/v2/users.json?role[]=agent&role[]=admin"
#: Zendesk refuses a ``start_time`` less than a minute old (by its clock: 5 s of margin).
MIN_AGE_S = 65
#: Where a first run with neither a state file nor a start time begins: an hour ago.
DEFAULT_LOOKBACK_S = 3600
#: Zendesk's page size for this export: a page without ``end_of_stream`` that is not full
#: is the last one (older API versions do not send the flag).
PAGE_SIZE = 1000
#: Tickets whose requester is remembered (for comment authorship without agent ids).
MAX_REQUESTERS = 100_000
_DEFAULT_RETRY_AFTER_S = 60.0
_MAX_RETRY_AFTER_S = 3600.0


class ZendeskError(RuntimeError):
    """The export cannot go on: an unexpected answer that retrying will not change."""


class ZendeskAuthError(ZendeskError):
    """Zendesk rejected the credentials (401) or their permissions (403)."""


class ZendeskUnavailableError(ZendeskError):
    """Zendesk kept failing (5xx, network) after every retry."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """An agent's email and API token; the token never appears in ``repr`` or logs."""

    email: str
    token: str = field(repr=False)

    def authorization(self) -> str:
        """The Basic ``Authorization`` header value Zendesk expects for API tokens."""
        pair = f"{self.email}/token:{self.token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(slots=True)
class PollStats:
    """What one or more polls did: pages read, events sent, what was not mapped."""

    pages: int = 0
    events: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    cursor: int | None = None

    def add(self, other: PollStats) -> None:
        """Count another poll's (or page's) work in; its cursor, when known, wins."""
        self.pages += other.pages
        self.events += other.events
        self.unmapped.update(other.unmapped)
        self.skipped.update(other.skipped)
        self.cursor = other.cursor if other.cursor is not None else self.cursor


class ZendeskConnector:
    """Reads the ticket event export page by page and sends each page's events.

    Args:
        base_url: ``https://<subdomain>.zendesk.com`` (or a test server).
        credentials: The API user.
        send: Called with each contract event, in order.
        flush: Called after a page's events were sent, before the cursor moves; it must
            return only once they are delivered (e.g. the Kafka producer's flush).
        cursor: Where the position is kept between runs.
        start_time: Epoch seconds to start from when ``cursor`` has nothing saved.
        groups: Zendesk group id -> queue name, for the mapping.
        agent_ids: Zendesk agent ids, for the mapping (see ``map_incremental_events``).
        fetch_agents: Instead, list the agents and admins from Zendesk at every poll, so
            that comments on tickets created before this run still get their author.
        stop: Asked between pages and after every wait; True ends the run early (the page
            being read is finished and its cursor saved first).
        sleep: Injected for tests; every wait goes through it.
        clock: Injected for tests; the wall clock in epoch seconds.
        timeout_s: Per-request timeout.
        max_retries: Retries of a failing request (5xx, network) before giving up.
        max_backoff_s: The longest wait between two retries.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        send: Callable[[dict[str, Any]], None],
        *,
        flush: Callable[[], None] = lambda: None,
        cursor: CursorFile | None = None,
        start_time: int | None = None,
        groups: Mapping[int | str, str] | None = None,
        agent_ids: Collection[int | str] | None = None,
        fetch_agents: bool = False,
        stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 30.0,
        max_retries: int = 8,
        max_backoff_s: float = 60.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._origin = _origin(self._base)
        self._auth = credentials.authorization()
        self._send, self._flush = send, flush
        self._cursor = cursor or CursorFile(None)
        self._groups, self._agent_ids, self._fetch_agents = groups, agent_ids, fetch_agents
        self._stop, self._sleep, self._clock = stop, sleep, clock
        self._timeout_s, self._max_retries = timeout_s, max_retries
        self._max_backoff_s = max_backoff_s
        self._requesters: dict[str, str] = {}  # ticket -> requester, across pages and polls
        try:
            saved = self._cursor.load()
        except ValueError as exc:
            raise ZendeskError(str(exc)) from exc
        if saved is None:
            saved = int(start_time if start_time is not None else clock() - DEFAULT_LOOKBACK_S)
        #: The export position: the next poll asks for events from this ``start_time``.
        self.position = saved
        log.info("Zendesk export from start_time %d (state file: %s)", saved, self._cursor.path)

    def run(self, interval_s: float) -> PollStats:
        """Poll until ``stop()``: read to the end of the stream, wait ``interval_s``, again.

        Zendesk being unavailable (retries exhausted) is logged and retried at the next
        interval; rejected credentials or an unexpected answer end the run.
        """
        total = PollStats()
        while not self._stop():
            try:
                total.add(self.poll())
            except ZendeskUnavailableError as exc:
                if self._stop():
                    break
                log.error("%s; polling again in %g s", exc, interval_s)
            if not self._stop():
                self._sleep(interval_s)
        return total

    def poll(self) -> PollStats:
        """Read the export from the cursor to its current end, sending every page's events."""
        stats = PollStats(cursor=self.position)
        if self._fetch_agents:
            self._agent_ids = self._list_agents()
        self._wait_until_allowed(self.position)
        url = self._first_url(self.position)
        while True:
            requested = self.position
            page = self._get_json(url)
            mapped = map_incremental_events(page, groups=self._groups, agent_ids=self._agent_ids,
                                            requesters=self._requesters)  # fmt: skip
            for event in mapped.events:
                self._send(event)
            self._flush()
            _trim(self._requesters)
            end_time = page.get("end_time")
            if isinstance(end_time, int) and not isinstance(end_time, bool):
                self._cursor.save(end_time)  # only now: the page is delivered
                self.position = end_time
            stats.add(
                PollStats(1, len(mapped.events), mapped.unmapped, mapped.skipped, self.position)
            )
            log.info("page %d: %d events (%d unmapped, %d skipped); end_time %s", stats.pages,
                     len(mapped.events), mapped.unmapped.total(), mapped.skipped.total(),
                     end_time)  # fmt: skip
            if _last_page(page) or self._stop():
                return stats
            if self.position <= requested:
                raise ZendeskError(f"the export does not advance past start_time {requested} "
                                   "(more events share one second than a page holds)")  # fmt: skip
            url = self._next_url(str(page["next_page"]))

    def _list_agents(self) -> set[str]:
        """The ids of every agent and admin (the users list, page by page)."""
        agents: set[str] = set()
        url: str | None = self._base + AGENTS_PATH
        while url:
            page = self._get_json(url)
            users = page.get("users") or ()
            agents.update(str(u["id"]) for u in users if isinstance(u, Mapping) and "id" in u)
            url = self._own(str(page["next_page"])) if page.get("next_page") else None
        log.info("%d Zendesk agents and admins", len(agents))
        return agents

    def _first_url(self, start_time: int) -> str:
        query = urllib.parse.urlencode({"start_time": start_time, "include": "comment_events"})
        return f"{self._base}{EXPORT_PATH}?{query}"

    def _next_url(self, next_page: str) -> str:
        """``next_page`` as given, on our own host only, still with the comment sideload."""
        parts = urllib.parse.urlsplit(self._own(next_page))
        query = urllib.parse.parse_qsl(parts.query)
        if not any(k == "include" for k, _ in query):
            query.append(("include", "comment_events"))
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def _own(self, url: str) -> str:
        """``url``, if it is on the Zendesk host: the credentials go with every request."""
        if _origin(url) != self._origin:
            raise ZendeskError(f"next_page {url!r} is not on {self._origin}: not followed "
                               "(the credentials would go with it)")  # fmt: skip
        return url

    def _wait_until_allowed(self, start_time: int) -> None:
        wait = start_time + MIN_AGE_S - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _get_json(self, url: str) -> dict[str, Any]:
        """GET one page, waiting out rate limits and retrying server and network failures."""
        failures = 0
        while True:
            request = urllib.request.Request(url, headers={
                "Authorization": self._auth, "Accept": "application/json",
                "User-Agent": "supportpulse-connect"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                    body = response.read()
                page = json.loads(body)
                if isinstance(page, dict):
                    return page
                problem = f"not a JSON object from {url}"
            except urllib.error.HTTPError as exc:
                with contextlib.closing(exc):
                    excerpt = exc.read(300).decode("utf-8", "replace")
                if exc.code in (401, 403):
                    raise ZendeskAuthError(
                        f"Zendesk refused {url} with HTTP {exc.code}: check ZENDESK_EMAIL and "
                        "ZENDESK_API_TOKEN, and that the user is an admin (the export needs it)"
                    ) from None
                if exc.code == 429:
                    wait = _retry_after(exc.headers.get("Retry-After"))
                    log.warning("Zendesk rate limit (HTTP 429): waiting %g s", wait)
                    self._sleep(wait)
                    if self._stop():
                        raise ZendeskUnavailableError(
                            f"stopped while rate limited on {url}"
                        ) from None
                    continue
                if exc.code < 500:
                    raise ZendeskError(f"HTTP {exc.code} from {url}: {excerpt}") from None
                problem = f"HTTP {exc.code} from {url}"
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                problem = f"{type(exc).__name__} on {url}: {exc}"
            failures += 1
            if failures > self._max_retries:
                raise ZendeskUnavailableError(f"giving up after {failures} attempts: {problem}")
            wait = min(self._max_backoff_s, 2.0 ** (failures - 1))
            log.warning("%s; retry %d/%d in %g s", problem, failures, self._max_retries, wait)
            self._sleep(wait)
            if self._stop():
                raise ZendeskUnavailableError(f"stopped while retrying: {problem}")


def _last_page(page: Mapping[str, Any]) -> bool:
    if not page.get("next_page"):
        return True
    if "end_of_stream" in page:
        return page["end_of_stream"] is True
    return len(page.get("ticket_events") or ()) < PAGE_SIZE


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else _DEFAULT_RETRY_AFTER_S
    except ValueError:  # an HTTP date: Zendesk sends seconds, so this is a rare proxy
        return _DEFAULT_RETRY_AFTER_S
    return min(max(1.0, seconds), _MAX_RETRY_AFTER_S)


def _trim(requesters: dict[str, str]) -> None:
    """Forget the longest-known tickets' requesters beyond ``MAX_REQUESTERS``."""
    excess = max(0, len(requesters) - MAX_REQUESTERS)
    for ticket in list(itertools.islice(requesters, excess)):
        del requesters[ticket]


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
