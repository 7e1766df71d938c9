// Live dashboard over the read-only API: fetches the KPIs, data quality and alerts every few
// seconds and updates the charts in place. No framework; Chart.js is vendored (no CDN).
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

async function getJson(path) {
  const headers = { Accept: "application/json" };
  const token = apiToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(`${path}: HTTP ${response.status} ${detail}`);
  }
  return body;
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

const sections = [
  ["/kpis/sales-per-minute?minutes=60", renderSales],
  ["/kpis/payment-health?minutes=60", renderPayments],
  ["/kpis/status-funnel", renderFunnel],
  ["/kpis/fulfillment-sla?days=7", renderSla],
  ["/kpis/top-products?limit=10", renderProducts],
  ["/data-quality", renderQuality],
  ["/alerts?limit=20", renderAlerts],
];

const charts = {};
window.dashboard = { charts, refreshes: 0, errors: [] };

async function refresh() {
  const results = await Promise.allSettled(sections.map(([path, render]) => getJson(path).then(render)));
  const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  window.dashboard.errors = errors;
  window.dashboard.refreshes += 1;
  const status = document.getElementById("status");
  status.classList.toggle("error", errors.length > 0);
  status.textContent = errors.length ? errors.join(" · ") : `updated ${new Date().toLocaleTimeString()}`;
}

async function start() {
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
