// The agent console: sign in, live queue, claim, transcript, guarded replies, notes, suggestions,
// transfer, hand back, resolve; a supervisor's figures. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const REASONS = {
  customer_request: "客户要求转人工", complaint: "投诉", fraud_victim: "疑似诈骗（紧急）", crisis: "轻生或绝望情绪（紧急）", unanswered: "助手未能解答",
  negative_sentiment: "情绪强烈不满", licensed_advice: "需持牌投顾", guard_review: "合规复核",
};
const PRIORITY = { urgent: "紧急", high: "优先", normal: "普通" };
const STATUS = { queued: "排队中", assigned: "处理中", resolved: "已结束", returned: "已交回助手", callback: "待回电", bot: "助手服务中" };
const ROLE = { customer: "客户", assistant: "智能助手", agent: "客服", system: "系统" };

const CHANNEL = { app: "App", web: "网页", wechat: "微信", voice: "语音" };
const PAGE_SIZE = 50;

const state = { token: sessionStorage.getItem("agentToken"), me: null, ws: null, ticket: null, lastId: 0, seen: new Set(),
  retry: 0, heartbeat: null, checkTimer: null,
  // The ticket list: one group, its filters and page, fetched from the server (never the whole floor).
  list: { group: "live", page: 1, pages: 1, fetchedAt: 0, loading: 0, tickets: [] }, refreshTimer: null, tick: null };

// Waiting times as a person reads them: "8 分钟", "2 小时 14 分", "3 天".
function duration(seconds) {
  const minutes = Math.floor(Math.max(0, seconds) / 60);
  if (minutes < 1) return "不到 1 分钟";
  if (minutes < 60) return `${minutes} 分钟`;
  const hours = Math.floor(minutes / 60), rest = minutes % 60;
  if (hours < 24) return rest ? `${hours} 小时 ${rest} 分` : `${hours} 小时`;
  const days = Math.floor(hours / 24), h = hours % 24;
  return days >= 3 || !h ? `${days} 天` : `${days} 天 ${h} 小时`;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3000);
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && path !== "/v1/agent/login") { signOut(); }
  if (!response.ok) {
    const error = (data && data.error) || { code: "http_" + response.status, message: "请求失败，请稍后重试。" };
    throw Object.assign(new Error(error.message), { error, status: response.status });
  }
  return data;
}

// --- sign in ---

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const data = await api("POST", "/v1/agent/login", { username: $("login-username").value.trim(), password: $("login-password").value });
    state.token = data.token;
    sessionStorage.setItem("agentToken", data.token);
    $("login-password").value = "";
    start(data.agent);
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

$("logout").addEventListener("click", signOut);

function signOut() {
  state.token = null;
  sessionStorage.removeItem("agentToken");
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  clearInterval(state.heartbeat);
  clearInterval(state.tick);
  $("desk-view").hidden = true;
  $("desk-tabs").hidden = true;
  $("supervisor-panel").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  $("whoami").textContent = "";
}

function start(me) {
  state.me = me;
  $("whoami").textContent = `${me.name}（${{ agent: "客服", supervisor: "主管", compliance: "合规" }[me.role] || me.role}）`;
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  $("logout").hidden = false;
  const board = me.role === "supervisor" || me.role === "compliance";
  $("desk-tabs").hidden = !board;
  showTab("desk");
  connect();
  loadTickets();
  clearInterval(state.tick);
  state.tick = setInterval(loadTickets, 30000);  // waiting times move on even when nothing else does
  if (board) { loadStats(); setInterval(loadStats, 15000); }
}

// The supervisor's board is its own tab, not the foot of the page.
function showTab(name) {
  $("tab-desk").setAttribute("aria-selected", String(name === "desk"));
  $("tab-board").setAttribute("aria-selected", String(name === "board"));
  $("desk-view").hidden = name !== "desk";
  $("supervisor-panel").hidden = name !== "board";
  if (name === "board") loadStats();
}
$("tab-desk").addEventListener("click", () => showTab("desk"));
$("tab-board").addEventListener("click", () => showTab("board"));

// --- the live socket: queue, messages, heartbeat ---

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/agent/stream?access_token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => {
    state.retry = 0;
    $("connection").textContent = "在线";
    clearInterval(state.heartbeat);
    state.heartbeat = setInterval(() => send({ type: "ping" }), 20000);
    // After a reconnect, pick the open ticket up where we left it: nothing missed, nothing twice.
    if (state.ticket) send({ type: "open", ticket_id: state.ticket.id, after: state.lastId });
  };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = (event) => {
    $("connection").textContent = "连接中断，正在重连…";
    clearInterval(state.heartbeat);
    if (event.code === 4401) { signOut(); return; }
    state.retry = Math.min(state.retry + 1, 6);
    setTimeout(() => { if (state.token) connect(); }, 500 * 2 ** state.retry);
  };
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function handle(event) {
  if (event.type === "queue") scheduleRefresh();
  else if (event.type === "message" && state.ticket && event.ticket_id === state.ticket.id) appendMessage(event.message);
  else if (event.type === "status" && state.ticket) {
    $("ticket-status").textContent = STATUS[event.status] || event.status;
  } else if (event.type === "reply_result") onReplyResult(event);
  else if (event.type === "error") toast(event.error.message);
}

// --- the ticket list ---

// The socket says "the queue changed"; the page then asks for the group it shows, at most once a second.
function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; loadTickets(); }, 1000);
}

function listQuery() {
  const q = new URLSearchParams({ group: state.list.group, page: state.list.page, page_size: PAGE_SIZE });
  for (const [key, id] of [["reason", "filter-reason"], ["priority", "filter-priority"], ["channel", "filter-channel"],
    ["customer", "filter-customer"]]) {
    const value = $(id).value.trim();
    if (value) q.set(key, value);
  }
  return q;
}

async function loadTickets() {
  if (!state.token) return;
  const customer = $("filter-customer").value.trim();
  if (customer && !/^[0-9A-Za-z]{1,32}$/.test(customer)) {
    $("list-summary").textContent = "客户号只能包含数字或字母。";
    return;
  }
  const serial = ++state.list.loading;  // a slower, older answer never overwrites a newer one
  try {
    const data = await api("GET", "/v1/agent/tickets?" + listQuery());
    if (serial !== state.list.loading) return;
    renderTickets(data);
  } catch (e) {
    if (serial === state.list.loading) $("list-summary").textContent = e.message;
  }
}

function renderTickets(data) {
  Object.assign(state.list, { page: data.page, pages: data.pages, fetchedAt: Date.now(), tickets: data.tickets });
  $("queue-count").textContent = data.counts.live;
  for (const group of ["mine", "callbacks", "assigned", "resolved_today"]) {
    document.querySelector(`[data-testid="count-${group}"]`).textContent = data.counts[group];
  }
  const reasons = $("filter-reason");
  const known = new Set([...reasons.options].map((o) => o.value));
  for (const r of [...Object.keys(REASONS), ...data.reasons]) {
    if (known.has(r)) continue;
    known.add(r);
    reasons.add(new Option(REASONS[r] || r, r));
  }
  const filtered = [...listQuery().keys()].some((k) => !["group", "page", "page_size"].includes(k));
  $("list-summary").textContent = data.total
    ? `共 ${data.total} 条${filtered ? "（已筛选）" : ""} · 紧急优先，其次按优先级和等待时间`
    : (filtered ? "没有符合筛选条件的工单。" : "这里暂时没有工单。");
  $("queue-list").replaceChildren(...data.tickets.map(ticketItem));
  $("page-info").textContent = `第 ${data.page} / ${data.pages} 页`;
  $("page-prev").disabled = data.page <= 1;
  $("page-next").disabled = data.page >= data.pages;
  $("pager").hidden = data.pages <= 1;
}

function ticketItem(t) {
  const li = document.createElement("li");
  li.className = t.priority + (t.waiting_s >= 3600 && t.status !== "resolved" && t.status !== "returned" ? " long" : "");
  li.dataset.testid = "ticket-" + t.id;
  li.dataset.ticketId = t.id;
  li.dataset.priority = t.priority;
  const title = document.createElement("span");
  title.className = "title";
  if (t.priority !== "normal") {
    const badge = document.createElement("span");
    badge.className = "badge " + t.priority;
    badge.textContent = PRIORITY[t.priority];
    title.append(badge);
  }
  if (t.status === "callback" && t.customer_online) {
    const badge = document.createElement("span");
    badge.className = "badge online";
    badge.dataset.testid = "online-" + t.id;
    badge.textContent = "客户在线";
    title.append(badge);
  }
  title.append(`#${t.id} ${REASONS[t.reason] || t.reason}`);
  const wait = document.createElement("span");
  wait.className = "wait";
  wait.dataset.testid = "wait-" + t.id;
  const closed = t.status === "resolved" || t.status === "returned";
  wait.textContent = closed && t.closed_at
    ? `${new Date(t.closed_at).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" })} 结束`
    : `已等 ${duration(t.waiting_s)}`;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = [`客户 ${t.customer_id || "访客"}`, CHANNEL[t.channel] || t.channel,
    t.queue_position ? `第 ${t.queue_position} 位` : "", t.agent_name || "", t.status === "callback" ? "待回电" : ""]
    .filter(Boolean).join(" · ");
  meta.title = t.summary || "";
  const actions = document.createElement("span");
  const button = (label, testid, fn, cls) => {
    const b = document.createElement("button");
    b.textContent = label;
    b.dataset.testid = testid;
    if (cls) b.className = cls;
    b.addEventListener("click", fn);
    actions.append(b);
  };
  if (t.status === "queued") button("接入", "claim-" + t.id, () => claim(t.id));
  else if (t.status === "callback" && t.customer_online) button("在线接入", "claim-" + t.id, () => claim(t.id), "live");
  else if (t.status === "callback") button("接手回电", "claim-" + t.id, () => claim(t.id));
  else button(t.status === "assigned" ? "打开" : "查看", "open-" + t.id, () => openTicket(t.id));
  li.append(title, wait, meta, actions);
  return li;
}

document.querySelectorAll("#groups [data-group]").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll("#groups [data-group]").forEach((o) => o.setAttribute("aria-selected", String(o === b)));
  Object.assign(state.list, { group: b.dataset.group, page: 1 });
  loadTickets();
}));
for (const id of ["filter-reason", "filter-priority", "filter-channel"]) {
  $(id).addEventListener("change", () => { state.list.page = 1; loadTickets(); });
}
let customerTimer = null;
$("filter-customer").addEventListener("input", () => {
  clearTimeout(customerTimer);
  customerTimer = setTimeout(() => { state.list.page = 1; loadTickets(); }, 250);
});
$("filters").addEventListener("submit", (event) => { event.preventDefault(); state.list.page = 1; loadTickets(); });
$("filters").addEventListener("reset", () => setTimeout(() => { state.list.page = 1; loadTickets(); }));
$("page-prev").addEventListener("click", () => { state.list.page = Math.max(1, state.list.page - 1); loadTickets(); });
$("page-next").addEventListener("click", () => { state.list.page = Math.min(state.list.pages, state.list.page + 1); loadTickets(); });

async function claim(id) {
  try {
    showTicket(await api("POST", `/v1/agent/tickets/${id}/claim`));
    loadTickets();
  } catch (e) { toast(e.message); loadTickets(); }
}

async function openTicket(id) {
  try { showTicket(await api("GET", `/v1/agent/tickets/${id}`)); } catch (e) { toast(e.message); }
}

// --- the ticket ---

function showTicket(view) {
  state.ticket = view;
  state.seen = new Set();
  state.lastId = 0;
  $("ticket-panel").hidden = false;
  $("ticket-empty").hidden = true;
  $("desk-view").classList.add("has-ticket");
  const mine = view.status === "assigned" && (view.agent_id === state.me.id || state.me.role === "supervisor");
  for (const id of ["transfer", "handback", "resolve", "reply-send", "transfer-to"]) $(id).disabled = !mine;
  $("ticket-title").textContent = `#${view.id} ${REASONS[view.reason] || view.reason} · ${view.channel === "wechat" ? "微信" : "App/网页"}`;
  $("ticket-status").textContent = STATUS[view.status] || view.status;
  $("summary").textContent = view.summary;
  renderProfile(view.profile, view.intents);
  $("transcript").replaceChildren();
  view.transcript.forEach(appendMessage);
  $("notes").replaceChildren();
  view.notes.forEach(appendNote);
  $("suggestions").replaceChildren();
  hideGuard();
  send({ type: "open", ticket_id: view.id, after: state.lastId });
}

function renderProfile(p, intents) {
  const rows = p.signed_in ? [
    ["客户号", p.customer_id], ["姓名", p.name], ["状态", p.status === "active" ? "正常" : p.status],
    ["风险等级", (p.risk_level || "未测评") + (p.risk_expired ? "（已过期）" : "")],
    ["已开权限", (p.permissions || []).join("、") || "无"],
    ["未成交委托", (p.open_orders || []).map((o) => `${o.name}${o.code} ${o.side === "buy" ? "买" : "卖"}${o.quantity}股`).join("；") || "无"],
  ] : [["客户", "未登录访客"]];
  rows.push(["识别意图", (intents || []).join("、")]);
  $("profile").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v || "";
    return [dt, dd];
  }));
}

function appendMessage(m) {
  if (state.seen.has(m.id)) return;
  state.seen.add(m.id);
  state.lastId = Math.max(state.lastId, m.id);
  const li = document.createElement("li");
  li.className = m.role;
  li.dataset.testid = "message-" + m.role;
  li.dataset.messageId = m.id;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = `${m.agent_name && m.role === "agent" ? m.agent_name : ROLE[m.role] || m.role} · ${new Date(m.created_at).toLocaleTimeString("zh-CN")}`;
  li.append(who, document.createTextNode(m.text));
  $("transcript").appendChild(li);
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

function appendNote(n) {
  const li = document.createElement("li");
  li.textContent = `${n.agent_name || ""}：${n.text}`;
  $("notes").appendChild(li);
}

// --- replying through the guard ---

function showGuard(violations, hard, message) {
  const box = $("guard-box");
  box.hidden = false;
  box.classList.toggle("hard", hard);
  $("guard-title").textContent = message;
  $("guard-violations").replaceChildren(...violations.map((v) => {
    const li = document.createElement("li");
    const mark = document.createElement("mark"); mark.textContent = v.span;
    li.append(mark, document.createTextNode(" — " + v.message));
    return li;
  }));
  $("send-anyway").hidden = hard;
}

function hideGuard() { $("guard-box").hidden = true; }

$("reply-text").addEventListener("input", () => {
  clearTimeout(state.checkTimer);
  const text = $("reply-text").value.trim();
  if (!text) { hideGuard(); return; }
  // Checked while typing, so a problem is seen before the send is even tried.
  state.checkTimer = setTimeout(async () => {
    try {
      const r = await api("POST", "/v1/agent/check", { text });
      if (r.hard.length) showGuard([...r.hard, ...r.warnings], true, "以下内容不合规，不能发送，请修改：");
      else if (r.warnings.length) showGuard(r.warnings, false, "以下内容可能不合规，请确认：");
      else hideGuard();
    } catch (e) { /* the send itself is checked again */ }
  }, 400);
});

$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); $("reply-form").requestSubmit(); }
});

$("reply-form").addEventListener("submit", (event) => { event.preventDefault(); sendReply(false); });
$("send-anyway").addEventListener("click", () => sendReply(true));

function sendReply(acknowledge) {
  const text = $("reply-text").value.trim();
  if (!text || !state.ticket) return;
  $("reply-send").disabled = true;
  send({ type: "reply", ticket_id: state.ticket.id, text, acknowledge });
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {  // the socket is down: the same over REST
    api("POST", `/v1/agent/tickets/${state.ticket.id}/reply`, { text, acknowledge })
      .then((r) => onReplyResult({ ok: true, ...r }))
      .catch((e) => onReplyResult({ ok: false, error: e.error }));
  }
}

function onReplyResult(result) {
  $("reply-send").disabled = false;
  if (result.ok) {
    $("reply-text").value = "";
    hideGuard();
    return;
  }
  const e = result.error || {};
  if (e.violations && e.violations.length) showGuard(e.violations, e.code === "guard_blocked", e.message);
  else toast(e.message || "发送失败");
}

// --- notes, suggestions, transfer, hand back, resolve ---

$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !state.ticket) return;
  try {
    appendNote(await api("POST", `/v1/agent/tickets/${state.ticket.id}/notes`, { text }));
    $("note-text").value = "";
  } catch (e) { toast(e.message); }
});

$("suggest").addEventListener("click", async () => {
  if (!state.ticket) return;
  try {
    const s = await api("GET", `/v1/agent/tickets/${state.ticket.id}/suggestions`);
    const blocks = [];
    if (s.answer) blocks.push(["知识库答案", s.answer.text]);
    s.passages.forEach((p) => blocks.push([`《${p.title}》${p.section || ""}`, p.text]));
    if (!blocks.length) blocks.push(["", "知识库中没有找到相关内容。"]);
    $("suggestions").replaceChildren(...blocks.map(([title, text]) => {
      const div = document.createElement("div");
      div.className = "suggestion";
      div.dataset.testid = "suggestion";
      const b = document.createElement("strong"); b.textContent = title;
      const use = document.createElement("button"); use.textContent = "引用"; use.dataset.testid = "use-suggestion";
      use.addEventListener("click", () => { $("reply-text").value = text; $("reply-text").dispatchEvent(new Event("input")); });
      div.append(b, document.createElement("br"), document.createTextNode(text), use);
      return div;
    }));
  } catch (e) { toast(e.message); }
});

$("transfer").addEventListener("click", async () => {
  const to = $("transfer-to").value.trim();
  if (!to || !state.ticket) return;
  try {
    await api("POST", `/v1/agent/tickets/${state.ticket.id}/transfer`, { to });
    toast("已转接");
    closeTicket();
  } catch (e) { toast(e.message); }
});

async function finish(path, done) {
  if (!state.ticket) return;
  try {
    await api("POST", `/v1/agent/tickets/${state.ticket.id}/${path}`);
    toast(done);
    closeTicket();
  } catch (e) { toast(e.message); }
}

$("handback").addEventListener("click", () => finish("handback", "已交回智能助手"));
$("resolve").addEventListener("click", () => finish("resolve", "服务已结束，已邀请客户评价"));

function closeTicket() {
  send({ type: "close" });
  state.ticket = null;
  $("ticket-panel").hidden = true;
  $("ticket-empty").hidden = false;
  $("desk-view").classList.remove("has-ticket");
  loadTickets();
}
$("back-to-list").addEventListener("click", closeTicket);

// --- supervisor ---

async function loadStats() {
  try {
    const s = await api("GET", "/v1/agent/stats");
    const pct = (x) => (x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%");
    const min = (x) => (x === null || x === undefined ? "—" : duration(x));
    const rows = [
      ["排队", s.queue_length, "stat-queue"], ["最长等待", min(s.longest_wait_s), "stat-longest-wait"],
      ["平均等待", min(s.average_wait_s), "stat-average-wait"], ["接入前平均等待", min(s.average_answer_wait_s), "stat-answer-wait"],
      ["处理中", s.assigned, "stat-assigned"], ["待回电", s.callbacks_open, "stat-callbacks"],
      ["在线客服", s.agents_online.map((a) => a.name).join("、") || "无", "stat-online"],
      [`助手独立解决率（${s.days} 天）`, pct(s.containment_rate), "stat-containment"],
      ["满意度", s.satisfaction_average === null ? "—" : `${s.satisfaction_average} / 5（${s.satisfaction_count} 条）`, "stat-csat"],
    ];
    $("stats").replaceChildren(...rows.flatMap(([k, v, id]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.testid = id;
      return [dt, dd];
    }));
  } catch (e) { /* shown on the next refresh */ }
}
$("stats-refresh").addEventListener("click", loadStats);

// --- resume a session in this tab ---

if (state.token) api("GET", "/v1/agent/me").then(start).catch(() => signOut());
