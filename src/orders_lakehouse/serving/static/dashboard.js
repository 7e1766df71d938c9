// Live dashboard over the read-only API: one request to /summary every few seconds (the browser
// revalidates it with its ETag, so an unchanged lakehouse costs a 304), charts updated in place.
// No framework; Chart.js is vendored (no CDN). A 401/403 shows a token prompt.
"use strict";

const brl = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
const integer = new Intl.NumberFormat("pt-BR");
const percent = new Intl.NumberFormat("pt-BR", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const palette = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2"];

// A token can be given once as #token=... (kept in localStorage, removed from the address bar).
function apiToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    localStorage.setItem("ordersApiToken", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem("ordersApiToken");
}

class AuthError extends Error {}

async function getJson(path) {
  const headers = { Accept: "application/json" };
  const token = apiToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // "no-cache": always ask the server, which answers 304 while the tables' versions are unchanged.
  const response = await fetch(path, { headers, cache: "no-cache" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
    const error = response.status === 401 || response.status === 403 ? AuthError : Error;
    throw new error(`${path}: HTTP ${response.status} ${detail}`);
  }
  return body;
}

function showTokenPrompt(reason) {
  const prompt = document.getElementById("token-prompt");
  document.getElementById("token-reason").textContent = reason;
  prompt.hidden = false;
  document.getElementById("token-input").focus();
}

function setupTokenPrompt() {
  document.getElementById("token-prompt").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem("ordersApiToken", document.getElementById("token-input").value.trim());
    document.getElementById("token-input").value = "";
    document.getElementById("token-prompt").hidden = true;
    refresh();
  });
}

function newChart(id, type, options = {}) {
  return new Chart(document.getElementById(id), {
    type,
    data: { labels: [], datasets: [] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...options },
  });
}

function setData(chart, labels, datasets) {
  chart.data.labels = labels;
  chart.data.datasets = datasets.map((d, i) => ({ backgroundColor: palette[i % palette.length],
    borderColor: palette[i % palette.length], ...d }));
  chart.update("none");
}

function setTile(testId, value, text) {
  const element = document.querySelector(`[data-testid="${testId}"]`);
  element.dataset.value = value === null || value === undefined ? "" : String(value);
  element.textContent = text;
}

const hhmm = (iso) => iso.slice(11, 16);

function renderSales(sales) {
  setData(charts.sales, sales.points.map((p) => hhmm(p.minute)), [
    { label: "orders", data: sales.points.map((p) => p.orders), yAxisID: "y", order: 1 },
    { label: "revenue (R$)", data: sales.points.map((p) => p.revenue), yAxisID: "y1", type: "line", order: 0 },
  ]);
  setTile("tile-orders", sales.totals.orders, integer.format(sales.totals.orders));
  setTile("tile-revenue", sales.totals.revenue, brl.format(sales.totals.revenue));
  setTile("tile-ticket", sales.totals.average_ticket, brl.format(sales.totals.average_ticket));
}

function renderPayments(payments) {
  const byMethod = new Map();
  for (const p of payments.points) {
    const sums = byMethod.get(p.payment_method) || { approved: 0, failed: 0 };
    sums.approved += p.approved;
    sums.failed += p.failed;
    byMethod.set(p.payment_method, sums);
  }
  const methods = [...byMethod.keys()].sort();
  setData(charts.payments, methods, [
    { label: "approved", data: methods.map((m) => byMethod.get(m).approved) },
    { label: "failed", data: methods.map((m) => byMethod.get(m).failed) },
  ]);
  const rate = payments.totals.approval_rate;
  setTile("tile-approval", rate, rate === null ? "–" : percent.format(rate));
}

function renderFunnel(funnel) {
  setData(charts.funnel, funnel.stages.map((s) => s.stage), [
    { label: "orders", data: funnel.stages.map((s) => s.orders) },
  ]);
}

function renderSla(sla) {
  const labels = sla.rows.map((r) => `${r.delivery_date} ${r.carrier ?? ""}`.trim());
  setData(charts.sla, labels, [
    { label: "p50 hours", data: sla.rows.map((r) => r.p50_hours) },
    { label: "p95 hours", data: sla.rows.map((r) => r.p95_hours) },
    { label: "SLA breaches", data: sla.rows.map((r) => r.sla_breaches), yAxisID: "y1", type: "line", order: 0 },
  ]);
}

function renderProducts(top) {
  setData(charts.products, top.products.map((p) => p.name || p.sku), [
    { label: "revenue (R$)", data: top.products.map((p) => p.revenue) },
  ]);
}

function renderQuality(quality) {
  const labels = quality.expectations.map((e) => `${e.dataset}: ${e.name}`);
  setData(charts.quality, labels, [
    { label: "passed", data: quality.expectations.map((e) => e.passed_records) },
    { label: "failed", data: quality.expectations.map((e) => e.failed_records) },
  ]);
  const failed = quality.expectations.reduce((sum, e) => sum + e.failed_records, 0);
  setTile("tile-dq-failed", failed, integer.format(failed));
}

const seconds = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(1)} s`);

function renderLatency(latency) {
  setTile("tile-latency-silver", latency.silver.p95_seconds, seconds(latency.silver.p95_seconds));
  setTile("tile-latency-gold", latency.gold.p95_seconds, seconds(latency.gold.p95_seconds));
}

function renderAlerts(alerts) {
  setTile("tile-alerts", alerts.count, integer.format(alerts.count));
  const body = document.querySelector('[data-testid="alerts-table"] tbody');
  body.replaceChildren(...alerts.alerts.map((a) => {
    const row = document.createElement("tr");
    row.dataset.alertId = a.alert_id;
    for (const [value, cls] of [[a.rule], [a.severity, `sev-${a.severity}`], [a.window_start ?? "–"],
      [a.observed_value], [a.threshold], [a.message]]) {
      const cell = document.createElement("td");
      cell.textContent = value ?? "";  // textContent: alert text is data, never markup
      if (cls) cell.className = cls;
      row.append(cell);
    }
    return row;
  }));
}

const renderers = [
  ["sales", renderSales], ["payments", renderPayments], ["funnel", renderFunnel], ["sla", renderSla],
  ["products", renderProducts], ["quality", renderQuality], ["alerts", renderAlerts], ["latency", renderLatency],
];

const charts = {};
window.dashboard = { charts, refreshes: 0, errors: [] };

async function refresh() {
  const status = document.getElementById("status");
  const errors = [];
  let needsToken = false;
  try {
    const summary = await getJson("/summary?minutes=60&alerts=20");
    for (const [key, render] of renderers) render(summary[key]);
    document.getElementById("token-prompt").hidden = true;
  } catch (error) {
    errors.push(error.message);
    needsToken = error instanceof AuthError;
    if (needsToken) {
      showTokenPrompt(apiToken() ? "The API refused this token: enter a valid one." : "This dashboard needs the API token.");
    }
  }
  window.dashboard.errors = errors;
  window.dashboard.refreshes += 1;
  status.classList.toggle("error", errors.length > 0);
  const updated = `updated ${new Date().toLocaleTimeString()}`;
  status.textContent = errors.length === 0 ? updated : needsToken ? "waiting for a valid token" : errors[0];
}

async function start() {
  setupTokenPrompt();
  charts.sales = newChart("chart-sales", "bar", {
    scales: { y: { beginAtZero: true, grace: "10%", position: "left" },
      y1: { beginAtZero: true, grace: "10%", position: "right", grid: { drawOnChartArea: false } } },
  });
  charts.payments = newChart("chart-payments", "bar", { scales: { y: { beginAtZero: true, grace: "10%" } } });
  charts.funnel = newChart("chart-funnel", "bar", { scales: { y: { beginAtZero: true, grace: "10%" } } });
  charts.sla = newChart("chart-sla", "bar", {
    scales: { y: { beginAtZero: true, grace: "10%", title: { display: true, text: "hours" } },
      y1: { beginAtZero: true, position: "right", ticks: { precision: 0 }, grid: { drawOnChartArea: false },
        title: { display: true, text: "breaches" } } },
  });
  charts.products = newChart("chart-products", "bar", { indexAxis: "y" });
  charts.quality = newChart("chart-quality", "bar", { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } });
  let seconds = 5;
  try {
    seconds = (await getJson("/dashboard-config")).refresh_seconds;
  } catch (error) {
    console.warn("dashboard config unavailable, refreshing every 5 s", error);
  }
  await refresh();
  setInterval(refresh, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", start);
