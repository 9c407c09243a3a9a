"use strict";
// The airkube platform page: fetches the JSON routes beside this script (api/dags, api/teams) and renders
// them with DOM calls, never innerHTML: DAG ids, task ids and alert texts are data, not markup.
//
// Authentication: fetch sends the Airflow UI's session cookie (`_token`, httponly, the JWT the auth
// manager issued at login) because the page is served from the api-server's own origin; the page never
// sees or stores the token. Elements carry data-* attributes (data-dag-id, data-field, data-value) so
// tests can read the figures without parsing the text.
(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  async function getJson(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) throw new Error("Not logged in: log in to Airflow, then reload this page.");
    if (response.status === 403) throw new Error("Your Airflow role may not read DAG runs and task instances.");
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return `${Math.round(seconds)} s`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${(seconds / 60).toFixed(1)} min`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  function when(iso) {
    return iso ? `${iso.replace("T", " ").slice(0, 16)} UTC` : "—";
  }

  function stateClass(state) {
    return `state-${String(state || "none").replace(/[^a-z_]/g, "")}`;
  }

  // The plan whose makespan is drawn: the page's own environment's, else the newest.
  function chosenPlan(dag, environment) {
    const plans = dag.plans || [];
    return plans.find((plan) => plan.env === environment) ||
      plans.slice().sort((a, b) => String(b.made_at).localeCompare(String(a.made_at)))[0] || null;
  }

  function runsChart(dag, plan) {
    const runs = dag.runs.filter((run) => run.duration_seconds !== null).reverse(); // oldest on the left
    const marks = [
      ["expected", dag.expected && dag.expected.expected_seconds],
      ["deadline", dag.expected && dag.expected.deadline_seconds],
      ["predicted", plan && plan.makespan_seconds],
    ].filter(([, seconds]) => seconds);
    if (!runs.length) return el("span", { class: "muted" }, dag.runs.length ? "none started" : "no runs yet");
    const height = 40;
    const barWidth = 10;
    const width = Math.max(runs.length, 1) * (barWidth + 3) + 3;
    const top = Math.max(...runs.map((run) => run.duration_seconds), ...marks.map(([, s]) => s), 1);
    const y = (seconds) => height - (seconds / top) * (height - 2);
    const chart = svg("svg", { class: "runs", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    runs.forEach((run, index) => {
      const kind = run.state === "success" || run.state === "failed" ? run.state : "other";
      const bar = svg("rect", {
        class: kind, x: 3 + index * (barWidth + 3), y: y(run.duration_seconds), width: barWidth,
        height: Math.max(height - y(run.duration_seconds), 1), "data-run-id": run.run_id,
        "data-duration": run.duration_seconds,
      });
      const vs = run.vs_expected === null ? "" : `, ${run.vs_expected} x expected`;
      const over = run.overran ? ", past the overrun deadline" : "";
      const title = svg("title");
      title.textContent = `${run.run_id}: ${run.state}, ${duration(run.duration_seconds)}${vs}${over}`;
      bar.append(title);
      chart.append(bar);
    });
    for (const [kind, seconds] of marks) {
      const line = svg("line", { class: kind, x1: 0, x2: width, y1: y(seconds), y2: y(seconds) });
      const title = svg("title");
      title.textContent = `${kind}: ${duration(seconds)}`;
      line.append(title);
      chart.append(line);
    }
    return chart;
  }

  function dagRow(dag, environment) {
    const rate = dag.success_rate;
    const streak = dag.streak;
    const plan = chosenPlan(dag, environment);
    const latest = dag.runs[0];
    return el("tr", { "data-dag-id": dag.dag_id },
      el("td", {}, el("code", {}, dag.dag_id), dag.is_paused ? el("div", { class: "muted" }, "paused") : null),
      el("td", { "data-field": "teams" }, dag.teams.join(", ")),
      el("td", { "data-field": "success-rate", "data-value": rate.rate, class: "num" },
        rate.rate === null ? "—" : `${(rate.rate * 100).toFixed(0)} %`,
        el("div", { class: "muted" }, `${rate.succeeded} of ${rate.finished_runs} runs`)),
      el("td", { "data-field": "streak", "data-value": streak.failures, "data-state": streak.state },
        el("span", { class: stateClass(streak.state) }, streak.state),
        el("div", { class: "muted" }, `${streak.failures} failed in a row; escalates at ${streak.escalate_after}`)),
      el("td", { "data-field": "expected", "data-value": dag.expected ? dag.expected.expected_seconds : null },
        dag.expected ? duration(dag.expected.expected_seconds) : "not declared",
        dag.expected ? el("div", { class: "muted" }, `deadline ${duration(dag.expected.deadline_seconds)}`) : null),
      el("td", { "data-field": "runs" }, runsChart(dag, plan),
        latest ? el("div", { class: "muted" },
          el("span", { class: stateClass(latest.state) }, latest.state), ` ${duration(latest.duration_seconds)}`,
          latest.overran ? " (overran)" : "",
          dag.median_success_seconds !== null ? `; median ${duration(dag.median_success_seconds)}` : "") : null),
      el("td", { "data-field": "plan", "data-value": plan ? plan.makespan_seconds : null },
        dag.plans.length ? dag.plans.map((p) => el("div", { "data-env": p.env },
          `${p.env}: ${duration(p.makespan_seconds)}, ${p.peak_nodes} nodes at peak, $${Number(p.cost_usd).toFixed(2)}/run`,
          el("div", { class: "muted" }, `planned ${when(p.made_at)}`))) : el("span", { class: "muted" }, "no plan recorded"),
        plan && dag.median_success_seconds !== null
          ? el("div", { class: "muted" }, `measured: median ${duration(dag.median_success_seconds)} of the successful runs`)
          : null),
    );
  }

  function teamCard(team) {
    const failing = team.failing_tasks.length
      ? el("table", { "data-field": "failing-tasks" },
        el("thead", {}, el("tr", {}, ["DAG", "Task", "Run", "State", "Try", "Ended"].map((h) => el("th", {}, h)))),
        el("tbody", {}, team.failing_tasks.map((ti) => el("tr", { "data-task-id": ti.task_id, "data-dag-id": ti.dag_id },
          el("td", {}, el("code", {}, ti.dag_id)),
          el("td", {}, el("code", {}, ti.task_id), ti.map_index >= 0 ? ` [${ti.rendered_map_index || ti.map_index}]` : ""),
          el("td", {}, ti.run_id),
          el("td", { class: stateClass(ti.state) }, ti.state),
          el("td", { class: "num" }, ti.try_number),
          el("td", {}, when(ti.end_date))))))
      : el("p", { class: "muted" }, "No failing tasks.");
    const alerts = team.alerts.length
      ? el("table", { "data-field": "alerts" },
        el("thead", {}, el("tr", {}, ["Sent", "Kind", "About", "Alert", "Delivered"].map((h) => el("th", {}, h)))),
        el("tbody", {}, team.alerts.map((alert) => el("tr", { "data-kind": alert.kind, "data-dag-id": alert.dag_id },
          el("td", {}, when(alert.sent_at)),
          el("td", {}, alert.kind),
          el("td", {}, el("code", {}, alert.task_id ? `${alert.dag_id}.${alert.task_id}` : alert.dag_id)),
          el("td", {}, alert.title),
          el("td", {}, Object.entries(alert.delivered || {})
            .map(([channel, ok]) => `${channel} ${ok ? "yes" : "NO"}`).join(", "))))))
      : el("p", { class: "muted" }, "No alerts sent.");
    return el("div", { class: "card", "data-team": team.team },
      el("h3", {}, team.team),
      el("p", { class: "muted" }, `DAGs: ${team.dags.join(", ") || "—"}`),
      failing, alerts);
  }

  async function load() {
    const error = document.getElementById("error");
    try {
      const [dags, teams] = await Promise.all([getJson("api/dags"), getJson("api/teams")]);
      document.getElementById("meta").textContent =
        `Environment ${dags.environment}; figures of ${when(dags.generated_at)}.`;
      const body = document.querySelector("#dags tbody");
      body.replaceChildren(...dags.dags.map((dag) => dagRow(dag, dags.environment)));
      if (!dags.dags.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No DAGs you may read.")));
      document.getElementById("teams").replaceChildren(...teams.teams.map(teamCard));
      document.body.dataset.loaded = "true";
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      document.getElementById("meta").textContent = "";
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
