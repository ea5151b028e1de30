/*
 * supportpulse queue wall: polls /api/summary and /api/staffing every 5 s and updates one
 * table in place (a column per queue, a row per measure), for an office TV seen from 3 m.
 *
 * No library and nothing from another origin: the page is served with a
 * Content-Security-Policy of default-src 'self' (stream/wiring/wall.py), which also
 * forbids inline code, so everything lives in this file and wall.css.
 *
 * Every number cell carries data-queue, data-field (the JSON key it shows) and data-value
 * (the raw number, empty for null), so tests compare exactly what the page received; the
 * visible text is the formatted value.
 */
"use strict";

/**
 * Colour thresholds: the one place to change them (tests/e2e/test_wall.py holds the same
 * numbers as its specification). Where an alert exists in
 * deploy/prometheus/rules/support-alerts.yml, red is the alert's own threshold, so the
 * wall turns red when the pager or the team chat hears about it, and amber gives notice
 * before. FCR, CSAT and NPS have no alert: their thresholds are common support
 * benchmarks (FCR ~70 %, CSAT ~80 %, NPS above +20), to be set to the team's objectives.
 */
const THRESHOLDS = {
  // SupportSLABreached pages on any breach: one unsolved ticket in breach now is red.
  breachedRed: 1,
  // SupportSLATicketsAtRisk fires from SLA_AT_RISK_MIN_TICKETS = 1 ticket at risk.
  atRiskAmber: 1,
  // Next SLA deadline of the queue (any clock): amber inside the default at_risk_within
  // of deploy/sla/policies.toml (15 min); red under 5 min, when the at-risk alert (for:
  // 2m) has already fired and only someone taking the ticket now prevents the breach.
  nextBreachAmberS: 15 * 60,
  nextBreachRedS: 5 * 60,
  // SupportOldestTicketTooOld: OLDEST_UNSOLVED_MAX_AGE_S = 3 days is red (strictly
  // older, as in the rule); amber a day earlier, while there is time to act.
  oldestAmberS: 2 * 86400,
  oldestRedS: 3 * 86400,
  // Erlang C staffing gap (required - available agents). The required count already
  // holds the margin for the service-level target, so one agent short misses the target
  // but the queue still drains (amber); two or more short usually means waits several
  // times the target, and a queue /api/staffing marks overloaded (offered load at or
  // above the agents present) grows without bound whatever the gap (red).
  gapAmber: 1,
  gapRed: 2,
  // Quality over 24 h: amber below the usual target, red clearly below it.
  fcrAmber: 0.7,
  fcrRed: 0.6,
  csatAmber: 0.8,
  csatRed: 0.7,
  npsAmber: 20,
  npsRed: 0,
};

const POLL_MS = 5000;
// Three missed polls: one slow answer is not an outage, a worker silent for 15 s is.
const STALE_AFTER_MS = 15000;
const FETCH_TIMEOUT_MS = 4000;

const CRIT = "crit";
const WARN = "warn";
const OK = "ok";
const NONE = "none"; // no threshold for this measure, or no value
const RANK = { [NONE]: 0, [OK]: 1, [WARN]: 2, [CRIT]: 3 };
const DASH = "\u2014";
const MINUS = "\u2212";

const T = THRESHOLDS;
const higherIsWorse = (amber, red) => (v) => (v > red ? CRIT : v > amber ? WARN : OK);
const lowerIsWorse = (amber, red) => (v) => (v < red ? CRIT : v < amber ? WARN : OK);

/**
 * Rows of the table, top to bottom: `group` starts a block of rows, `hint` is the small
 * line under the label (the window, the definition), `source` is the API (summary unless
 * said), `level` the colour rule (none: always white).
 */
const ROWS = [
  {
    group: "SLA",
    label: "Breached now",
    hint: "tickets past an SLA target",
    field: "sla_breached_tickets",
    format: fmtCount,
    level: (v) => (v >= T.breachedRed ? CRIT : OK),
  },
  {
    label: "At risk",
    hint: "SLA target close",
    field: "sla_at_risk_tickets",
    format: fmtCount,
    level: (v) => (v >= T.atRiskAmber ? WARN : OK),
  },
  {
    label: "Next breach in",
    hint: "earliest running SLA clock",
    field: "sla_next_breach_seconds",
    format: fmtDuration,
    level: (v) => (v < T.nextBreachRedS ? CRIT : v < T.nextBreachAmberS ? WARN : OK),
  },
  { label: "Breaches", hint: "last 24 h", field: "sla_breaches_24h", format: fmtCount },
  {
    group: "Queue",
    label: "Unsolved",
    hint: "tickets not solved yet",
    field: "unsolved",
    format: fmtCount,
  },
  { label: "Backlog", hint: "past resolution target", field: "backlog", format: fmtCount },
  {
    label: "Oldest unsolved",
    hint: "age of the oldest ticket",
    field: "oldest_unsolved_age_seconds",
    format: fmtDuration,
    level: higherIsWorse(T.oldestAmberS, T.oldestRedS),
  },
  {
    group: "Speed",
    label: "First reply",
    hint: "average, last hour",
    field: "first_reply_avg_seconds_1h",
    format: fmtDuration,
  },
  {
    label: "Handle time",
    hint: "AHT per contact, last hour",
    field: "handle_avg_seconds_1h",
    format: fmtDuration,
  },
  {
    group: "Quality",
    label: "FCR",
    hint: "first-contact resolution, 24 h",
    field: "fcr_ratio_24h",
    format: fmtPercent,
    level: lowerIsWorse(T.fcrAmber, T.fcrRed),
  },
  {
    label: "CSAT",
    hint: "satisfied ratings, 24 h",
    field: "csat_ratio_24h",
    format: fmtPercent,
    level: lowerIsWorse(T.csatAmber, T.csatRed),
  },
  {
    label: "NPS",
    hint: "promoters \u2212 detractors, 24 h",
    field: "nps_24h",
    format: fmtSigned,
    level: lowerIsWorse(T.npsAmber, T.npsRed),
  },
  {
    group: "Staffing",
    label: "Agents needed",
    hint: "Erlang C, for the target",
    field: "required_agents",
    source: "staffing",
    format: fmtCount,
  },
  {
    label: "Agents available",
    hint: "present now",
    field: "available_agents",
    source: "staffing",
    format: fmtCount,
  },
  {
    label: "Gap",
    hint: "needed \u2212 available",
    field: "gap_agents",
    source: "staffing",
    format: fmtSigned,
    level: (v, rec) =>
      v >= T.gapRed || rec.overloaded === true ? CRIT : v >= T.gapAmber ? WARN : OK,
  },
];

// ---- formatting: the test (tests/e2e/test_wall.py) mirrors these exactly ----------------
//
// Every number is rounded down, never to the nearest: with whole-number thresholds the
// digits then always agree with the colour (a CSAT of 69.8 % shows "69%" in red, not a
// red "70%" next to a legend that says red below 70 %; a gap of 1.6 agents shows "+1" in
// amber, not an amber "+2"). The 1e-9 absorbs binary fractions: 0.29 * 100 is
// 28.999999999999996, which is 29 %.

function down(x) {
  return Math.floor(x + 1e-9);
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

/** A count: whole number, typographic minus for a negative one. */
function fmtCount(v) {
  const n = down(v);
  return n < 0 ? MINUS + String(-n) : String(n);
}

/** A signed number (NPS, staffing gap): "+23", "0", "−12". */
function fmtSigned(v) {
  const n = down(v);
  return n > 0 ? "+" + String(n) : n < 0 ? MINUS + String(-n) : "0";
}

/** A 0..1 ratio as a whole percentage: 0.83 -> "83%". */
function fmtPercent(v) {
  return String(down(v * 100)) + "%";
}

/**
 * A duration, two units at most, rounded down (a countdown must never promise more time
 * than is left): "45s", "4m 05s" (seconds matter under 10 min), "12m", "1h 05m", "3d 04h".
 */
function fmtDuration(v) {
  const s = Math.max(0, down(v));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (s < 600) return `${m}m ${pad2(s % 60)}s`;
  if (s < 3600) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (s < 86400) return `${h}h ${pad2(m % 60)}m`;
  return `${Math.floor(s / 86400)}d ${pad2(h % 24)}h`;
}

/** Local time of day, with the date when it is not today (a replay's event clock). */
function fmtClock(ms) {
  const d = new Date(ms);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

// ---- DOM ----------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "className") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

let builtFor = null; // the queue list the table was built for, joined
const cells = new Map(); // queue + "\n" + field -> <td>
const heads = new Map(); // queue -> <th>

/** (Re)build the table skeleton; only when the set of queues changes. */
function build(queues) {
  cells.clear();
  heads.clear();
  // Fixed layout takes the column widths from here: group, label, then equal queues.
  const cols = $("cols");
  cols.replaceChildren(el("col", { className: "c-group" }), el("col", { className: "c-label" }));
  for (let i = 0; i < queues.length; i += 1) cols.append(el("col", { className: "c-queue" }));
  const headRow = $("queue-row");
  headRow.replaceChildren(el("td", { className: "corner", colspan: "2" }));
  for (const q of queues) {
    const th = el(
      "th",
      { scope: "col", className: "queue lvl-none", "data-queue": q },
      el("span", { className: "qname", text: q }),
      " ", // read as two words: "billing", "act now"
      el("span", { className: "qstate", text: "" }),
    );
    heads.set(q, th);
    headRow.append(th);
  }
  const body = $("rows");
  body.replaceChildren();
  ROWS.forEach((row, i) => {
    const tr = el("tr", { className: row.group ? "first" : "" });
    if (row.group) {
      let span = 1;
      while (i + span < ROWS.length && !ROWS[i + span].group) span += 1;
      tr.append(
        el(
          "th",
          { scope: "rowgroup", rowspan: String(span), className: "group" },
          el("span", { text: row.group }),
        ),
      );
    }
    tr.append(
      el(
        "th",
        { scope: "row", className: "label" },
        el("span", { className: "l", text: row.label }),
        el("span", { className: "h", text: row.hint }),
      ),
    );
    for (const q of queues) {
      const td = el("td", {
        className: "num lvl-none",
        "data-queue": q,
        "data-field": row.field,
        "data-value": "",
        text: DASH,
      });
      cells.set(q + "\n" + row.field, td);
      tr.append(td);
    }
    body.append(tr);
  });
  document.documentElement.style.setProperty("--queues", String(queues.length));
}

const STATE_TEXT = { [CRIT]: "\u2716 act now", [WARN]: "\u25b2 watch", [OK]: "\u25cf ok" };

/** Put one poll's numbers into the table, in place. */
function update(summary, staffing) {
  const queues = Object.keys(summary.queues || {});
  const key = queues.join("\n");
  if (key !== builtFor) {
    build(queues);
    builtFor = key;
  }
  const staffed = (staffing && staffing.queues) || {};
  for (const q of queues) {
    let worst = NONE;
    for (const row of ROWS) {
      const rec = row.source === "staffing" ? staffed[q] : summary.queues[q];
      const raw = rec ? rec[row.field] : undefined;
      const v = typeof raw === "number" && Number.isFinite(raw) ? raw : null;
      const lvl = v === null || !row.level ? NONE : row.level(v, rec);
      if (RANK[lvl] > RANK[worst]) worst = lvl;
      const td = cells.get(q + "\n" + row.field);
      const text = v === null ? DASH : row.format(v);
      if (td.textContent !== text) td.textContent = text;
      td.dataset.value = v === null ? "" : String(v);
      td.className = "num lvl-" + lvl;
    }
    const th = heads.get(q);
    th.className = "queue lvl-" + (worst === NONE ? OK : worst);
    th.querySelector(".qstate").textContent = STATE_TEXT[worst === NONE ? OK : worst];
  }
  $("empty").hidden = queues.length > 0;
  const clock = summary.processing_clock_seconds;
  const clockEl = $("clock");
  clockEl.dataset.value = typeof clock === "number" ? String(clock) : "";
  clockEl.textContent = typeof clock === "number" ? fmtClock(clock * 1000) : DASH;
  $("clock-kind").textContent = summary.clock ? `(${summary.clock})` : "";
  fit();
}

/**
 * Shrink everything (one CSS variable scales all sizes) until the table fits the screen:
 * a TV cannot scroll, and eight queues or a smaller screen must still show every cell.
 */
function fit() {
  const root = document.documentElement;
  const main = document.querySelector("main");
  const over = () =>
    main.scrollHeight > main.clientHeight + 1 || main.scrollWidth > main.clientWidth + 1;
  let scale = 1;
  root.style.setProperty("--scale", "1");
  while (over() && scale > 0.5) {
    scale = Math.round((scale - 0.04) * 100) / 100;
    root.style.setProperty("--scale", String(scale));
  }
  root.dataset.scale = String(scale);
  root.dataset.fits = String(!over());
}

// ---- polling and staleness ----------------------------------------------------------------

let lastOkMs = Date.now(); // page load counts as the start of the wait for a first answer
let everOk = false;

async function getJson(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const resp = await fetch(url, {
      cache: "no-store",
      signal: ctl.signal,
      headers: { Accept: "application/json" },
    });
    if (resp.status === 404) return null; // e.g. a worker without /api/staffing
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    return await resp.json();
  } finally {
    clearTimeout(timer);
  }
}

/** Show the live/stale state; runs every second so the warning appears without a poll. */
function showState() {
  const root = document.documentElement;
  const silentMs = Date.now() - lastOkMs;
  const stale = silentMs > STALE_AFTER_MS;
  root.dataset.state = stale ? "stale" : everOk ? "live" : "connecting";
  const banner = $("stale");
  banner.hidden = !stale;
  if (stale) {
    const silent = fmtDuration(silentMs / 1000);
    banner.textContent = everOk
      ? `STALE: no answer from the worker for ${silent}. ` +
        `These numbers are from ${fmtClock(lastOkMs)}.`
      : `No answer from the worker for ${silent}: nothing to show yet.`;
  }
  $("status").textContent = stale ? "\u2716 STALE" : everOk ? "\u25cf LIVE" : "Connecting\u2026";
}

async function poll() {
  // Relative URLs: same origin as the page, also behind a reverse proxy's prefix.
  const [summary, staffing] = await Promise.allSettled([
    getJson("api/summary"),
    getJson("api/staffing"),
  ]);
  try {
    if (summary.status === "fulfilled" && summary.value) {
      update(summary.value, staffing.status === "fulfilled" ? staffing.value : null);
      lastOkMs = Date.now();
      everOk = true;
      $("updated").textContent = fmtClock(lastOkMs);
    } else if (summary.status === "rejected") {
      console.warn("supportpulse wall: poll failed:", summary.reason);
    }
  } catch (err) {
    // Unexpected data must not stop the polling; staleness shows if it persists.
    console.error("supportpulse wall: cannot show this answer:", err);
  }
  showState();
  setTimeout(poll, POLL_MS);
}

function legend() {
  const t = THRESHOLDS;
  const pct = (r) => `${Math.round(r * 100)}%`;
  // Thresholds are round numbers of one unit: "5m", "3d".
  const d = (s) => (s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : `${s / 60}m`);
  const r = "\u2716"; // the red marker
  const a = "\u25b2"; // the amber marker
  $("legend-rules").textContent =
    `breached ${r}\u2265${t.breachedRed} \u00b7 at risk ${a}\u2265${t.atRiskAmber}` +
    ` \u00b7 next breach ${r}<${d(t.nextBreachRedS)} ${a}<${d(t.nextBreachAmberS)}` +
    ` \u00b7 oldest ${r}>${d(t.oldestRedS)} ${a}>${d(t.oldestAmberS)}` +
    ` \u00b7 FCR ${r}<${pct(t.fcrRed)} ${a}<${pct(t.fcrAmber)}` +
    ` \u00b7 CSAT ${r}<${pct(t.csatRed)} ${a}<${pct(t.csatAmber)}` +
    ` \u00b7 NPS ${r}<${t.npsRed} ${a}<+${t.npsAmber}` +
    ` \u00b7 gap ${r}\u2265${t.gapRed} ${a}\u2265${t.gapAmber}`;
}

// A blocked load means the page broke its own policy (default-src 'self'): say so on the
// console and on the root element, where the browser tests look.
document.addEventListener("securitypolicyviolation", (e) => {
  const what = `${e.violatedDirective} ${e.blockedURI || "inline"}`;
  console.error("supportpulse wall: blocked by the Content-Security-Policy:", what);
  document.documentElement.dataset.cspViolation = what;
});

legend();
showState();
setInterval(showState, 1000);
window.addEventListener("resize", fit);
poll();
