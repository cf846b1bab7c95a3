// The agent console: sign in, live queue, claim, transcript, guarded replies, notes, suggestions,
// transfer, hand back, resolve; a supervisor's figures. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const REASONS = {
  customer_request: "客户要求转人工", complaint: "投诉", fraud_victim: "疑似诈骗（紧急）", unanswered: "助手未能解答",
  negative_sentiment: "情绪强烈不满", licensed_advice: "需持牌投顾", guard_review: "合规复核",
};
const PRIORITY = { urgent: "紧急", high: "优先", normal: "普通" };
const STATUS = { queued: "排队中", assigned: "处理中", resolved: "已结束", returned: "已交回助手", callback: "待回电", bot: "助手服务中" };
const ROLE = { customer: "客户", assistant: "智能助手", agent: "客服", system: "系统" };

const state = { token: sessionStorage.getItem("agentToken"), me: null, ws: null, ticket: null, lastId: 0, seen: new Set(),
  retry: 0, heartbeat: null, checkTimer: null };

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
  $("desk-view").hidden = true;
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
  $("supervisor-panel").hidden = !(me.role === "supervisor" || me.role === "compliance");
  connect();
  if (!$("supervisor-panel").hidden) { loadStats(); setInterval(loadStats, 15000); }
}

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
  if (event.type === "queue") renderQueue(event.queue);
  else if (event.type === "message" && state.ticket && event.ticket_id === state.ticket.id) appendMessage(event.message);
  else if (event.type === "status" && state.ticket) {
    $("ticket-status").textContent = STATUS[event.status] || event.status;
  } else if (event.type === "reply_result") onReplyResult(event);
  else if (event.type === "error") toast(event.error.message);
}

// --- the queue ---

function item(ticket, actions) {
  const li = document.createElement("li");
  li.className = ticket.priority;
  li.dataset.testid = "ticket-" + ticket.id;
  li.dataset.ticketId = ticket.id;
  const wait = Math.max(0, Math.round(ticket.waiting_s / 60));
  li.innerHTML = `<strong></strong><div class="meta"></div>`;
  li.querySelector("strong").textContent = `#${ticket.id} ${REASONS[ticket.reason] || ticket.reason}`;
  li.querySelector(".meta").textContent = `${PRIORITY[ticket.priority] || ""} · 客户 ${ticket.customer_id || "访客"} · 已等 ${wait} 分钟`
    + (ticket.agent_name ? ` · ${ticket.agent_name}` : "");
  for (const [label, testid, fn] of actions) {
    const b = document.createElement("button");
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener("click", fn);
    li.appendChild(b);
  }
  return li;
}

function renderQueue(queue) {
  $("queue-count").textContent = queue.queued.length;
  const fill = (id, list, actions) => { const ul = $(id); ul.replaceChildren(...list.map((t) => item(t, actions(t)))); };
  fill("queue-list", queue.queued, (t) => [["接入", "claim-" + t.id, () => claim(t.id)]]);
  fill("assigned-list", queue.assigned.filter((t) => t.agent_id === state.me.id || state.me.role === "supervisor"),
    (t) => [["打开", "open-" + t.id, () => openTicket(t.id)]]);
  fill("callback-list", queue.callbacks, (t) => [["接手回电", "claim-" + t.id, () => claim(t.id)]]);
}

async function claim(id) {
  try {
    showTicket(await api("POST", `/v1/agent/tickets/${id}/claim`));
  } catch (e) { toast(e.message); }
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
}

// --- supervisor ---

async function loadStats() {
  try {
    const s = await api("GET", "/v1/agent/stats");
    const pct = (x) => (x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%");
    const min = (x) => (x === null || x === undefined ? "—" : (x / 60).toFixed(1) + " 分钟");
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
