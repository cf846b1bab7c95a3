// The web chat page: demo sign-in, chat over the conversation's WebSocket stream (with a REST
// fallback), citations that open their source passage, order confirmation buttons, agent
// presence, voice turns recorded with MediaRecorder, and ratings. Plain JS, no dependencies.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage; // the token lives only as long as this tab
  const KEY = { token: "mc.token", customer: "mc.customer", conversation: "mc.conversation" };
  const MAX_RECORD_MS = 59000; // the server takes at most 60 s of audio
  const MIN_RECORD_MS = 600;

  const state = {
    token: store.getItem(KEY.token),
    customer: readJson(KEY.customer),
    conversationId: store.getItem(KEY.conversation),
    lastId: 0, // the last message id rendered: a reconnect asks for what came after it
    seen: new Set(),
    socket: null,
    retry: 0,
    reconnectTimer: null,
    typingTimer: null,
    pending: null, // the confirmation buttons on screen: {element, timer}
    agentOnline: false,
    agentName: null,
    recording: null,
    busyVoice: false,
  };

  function readJson(key) {
    try { return JSON.parse(store.getItem(key) || "null"); } catch { return null; }
  }

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, path, body) {
    const headers = {};
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, "network", "网络连接失败，请检查网络后重试。");
    }
    let data = null;
    try { data = await response.json(); } catch { /* an empty or non-JSON body */ }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || `http_${response.status}`,
        error.message || "服务暂时不可用，请稍后再试。");
    }
    return data;
  }

  function show(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  // --- sign-in --------------------------------------------------------------------------------

  async function showSignIn(message) {
    closeSocket();
    $("chat").hidden = true;
    $("who").hidden = true;
    $("sign-in").hidden = false;
    show("sign-in-error", message);
    const list = $("demo-customers");
    list.replaceChildren();
    try {
      const data = await api("GET", "/v1/demo/customers");
      for (const c of data.customers) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "customer";
        button.dataset.customerId = c.customer_id;
        const name = document.createElement("span");
        name.className = "name";
        name.textContent = `${c.name}（客户号 ${c.customer_id}）`;
        const desc = document.createElement("span");
        desc.className = "desc";
        desc.textContent = c.description;
        button.append(name, desc);
        button.addEventListener("click", () => signIn(c.customer_id, button));
        const item = document.createElement("li");
        item.append(button);
        list.append(item);
      }
      if (!data.customers.length) show("sign-in-error", "暂无可用的演示客户。");
      else list.querySelector("button").focus();
    } catch (e) {
      show("sign-in-error", e.status === 404
        ? "演示登录未开放。请在明川证券 App 登录后使用智能客服。" : e.message);
    }
  }

  async function signIn(customerId, button) {
    button.disabled = true;
    try {
      const data = await api("POST", "/v1/demo/sign-in", { customer_id: customerId });
      state.token = data.access_token;
      state.customer = data.customer;
      store.setItem(KEY.token, state.token);
      store.setItem(KEY.customer, JSON.stringify(state.customer));
      forgetConversation();
      await startChat();
    } catch (e) {
      show("sign-in-error", e.message);
    } finally {
      button.disabled = false;
    }
  }

  function signOut(message) {
    for (const key of Object.values(KEY)) store.removeItem(key);
    state.token = null;
    state.customer = null;
    forgetConversation();
    showSignIn(message);
  }

  function forgetConversation() {
    store.removeItem(KEY.conversation);
    state.conversationId = null;
  }

  // --- the conversation ---------------------------------------------------------------------

  function resetView() {
    $("messages").replaceChildren();
    state.lastId = 0;
    state.seen.clear();
    clearPending();
    state.agentOnline = false;
    state.agentName = null;
    show("presence", "");
    show("chat-error", "");
    hideTyping();
  }

  async function startChat() {
    $("sign-in").hidden = true;
    $("chat").hidden = false;
    $("who").hidden = false;
    $("who-name").textContent = state.customer ? `${state.customer.name}（${state.customer.customer_id}）` : "";
    resetView();
    if (!state.conversationId) {
      try {
        const conversation = await api("POST", "/v1/conversations", { channel: "web" });
        state.conversationId = conversation.id;
        store.setItem(KEY.conversation, conversation.id);
      } catch (e) {
        if (e.status === 401 || e.status === 403) { signOut("登录已过期，请重新登录。"); return; }
        show("chat-error", e.message);
        return;
      }
    }
    connect();
    $("input").focus();
    try { // an empty conversation (new, or reloaded before anything was said): offer a start
      const first = await api("GET", `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages?limit=1`);
      if (!first.messages.length && !state.lastId) offerSuggestions("您可以这样问我：");
    } catch { /* the stream shows what there is */ }
  }

  async function newConversation() {
    forgetConversation();
    closeSocket();
    await startChat();
  }

  function closeSocket() {
    clearTimeout(state.reconnectTimer);
    const socket = state.socket;
    state.socket = null; // its close handler sees it was replaced and does not reconnect
    if (socket) socket.close();
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (!state.conversationId || !state.token) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/v1/conversations/${encodeURIComponent(state.conversationId)}/stream`
      + `?after=${state.lastId}&access_token=${encodeURIComponent(state.token)}`;
    const socket = new WebSocket(url);
    state.socket = socket;
    $("chat").dataset.stream = "connecting";
    socket.addEventListener("open", () => {
      state.retry = 0;
      $("chat").dataset.stream = "open";
      show("connection", "");
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      if (state.socket === socket) handleEvent(data);
    });
    socket.addEventListener("close", (event) => {
      if (state.socket !== socket) return; // closed on purpose
      state.socket = null;
      $("chat").dataset.stream = "closed";
      hideTyping();
      if (event.code === 4404) { recover(); return; }
      // Back off, then reconnect asking only for what came after the last message shown.
      const delay = Math.min(500 * 2 ** state.retry, 10000);
      state.retry += 1;
      show("connection", "连接已断开，正在重新连接…");
      state.reconnectTimer = setTimeout(connect, delay);
    });
  }

  // The stream refused us: the token has expired, or the conversation is gone. Ask which.
  async function recover() {
    try {
      await api("GET", `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages?limit=1`);
      state.reconnectTimer = setTimeout(connect, 2000);
    } catch (e) {
      if (e.status === 401 || e.status === 403) signOut("登录已过期，请重新登录。");
      else if (e.status === 404) { show("chat-error", "原会话已失效，已为您开始新的对话。"); newConversation(); }
      else { show("connection", "连接已断开，正在重新连接…"); state.reconnectTimer = setTimeout(connect, 5000); }
    }
  }

  function handleEvent(event) {
    switch (event.type) {
      case "message": renderMessage(event.message); break;
      case "typing": showTyping(); break;
      case "partial": showDraft(event.text); break;
      case "reply": break; // its messages follow as "message" events, with their citations
      case "status": renderStatus(event); break;
      case "error": show("chat-error", (event.error && event.error.message) || "消息未能发送，请重试。"); break;
      default: break;
    }
  }

  // Messages missed while the socket was down (or sent over REST): read the history after the last one.
  async function catchUp() {
    let after = state.lastId;
    for (;;) {
      const page = await api("GET",
        `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages?after=${after}&limit=200`);
      page.messages.forEach(renderMessage);
      if (page.next_after === null || page.next_after === undefined) return;
      after = page.next_after;
    }
  }

  async function send(text) {
    text = text.trim();
    if (!text) return false;
    if (text.length > 1000) { show("chat-error", "单条消息最多 1000 字，请精简后再发送。"); return false; }
    show("chat-error", "");
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ type: "message", text }));
      return true;
    }
    // While the socket reconnects, the turn goes over REST; the stream will not repeat it.
    try {
      showTyping();
      await api("POST", `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages`, { text });
      await catchUp();
      return true;
    } catch (e) {
      hideTyping();
      if (e.status === 401 || e.status === 403) signOut("登录已过期，请重新登录。");
      else show("chat-error", e.message);
      return false;
    }
  }

  // --- rendering ------------------------------------------------------------------------------

  const AUTHORS = { customer: "我", assistant: "智能客服", system: "系统消息" };

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
  }

  function insertInOrder(item, id) {
    const list = $("messages");
    for (const other of list.querySelectorAll("li[data-id]")) {
      if (Number(other.dataset.id) > id) { list.insertBefore(item, other); return; }
    }
    list.append(item);
  }

  function notice(text) {
    const item = document.createElement("li");
    item.className = "notice";
    item.textContent = text;
    $("messages").append(item);
    item.scrollIntoView({ block: "end" });
  }

  function renderMessage(m) {
    if (!m || typeof m.id !== "number" || state.seen.has(m.id)) return; // each message once
    state.seen.add(m.id);
    state.lastId = Math.max(state.lastId, m.id);
    const isReply = m.role === "assistant" || m.role === "agent";
    if (m.role === "customer") clearPending(); // a confirmation is answered by the next customer message
    if (isReply) { hideTyping(); clearDraft(); }
    if (m.role === "agent" && !state.agentOnline) {
      agentJoined(m.agent_name);
    }

    const item = document.createElement("li");
    item.className = `message ${m.role}`;
    item.dataset.id = String(m.id);
    item.dataset.role = m.role;
    const author = document.createElement("div");
    author.className = "author";
    const who = document.createElement("span");
    who.textContent = m.role === "agent" ? `人工客服${m.agent_name ? ` ${m.agent_name}` : ""}` : (AUTHORS[m.role] || m.role);
    const time = document.createElement("time");
    time.dateTime = m.created_at;
    time.textContent = formatTime(m.created_at);
    author.append(who, time);
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = m.text; // never HTML: replies may quote what a customer typed
    item.append(author, text);
    const rich = window.MingchuanCards ? window.MingchuanCards.render(m, text) : null;
    if (rich) { item.append(rich); item.classList.add("has-data"); }
    if (m.role === "assistant" && m.handoff) { // what happens next, with a person: set apart from the chat
      item.classList.add("handoff");
      item.setAttribute("aria-label", "转人工通知");
      const tag = document.createElement("div");
      tag.className = "handoff-tag";
      tag.textContent = "人工服务";
      tag.setAttribute("aria-hidden", "true");
      author.after(tag);
    }
    if (m.role === "customer") dropSuggestions();

    if (m.citations && m.citations.length) item.append(renderCitations(m.citations));
    if (m.pending_confirmation) showConfirmation(item, m);
    if (isReply) item.append(renderRating(m));
    if (m.csat_request) item.append(renderSatisfaction());
    insertInOrder(item, m.id);
    item.scrollIntoView({ block: "end" });
    if (m.unanswered && m.id === state.lastId) offerSuggestions("您可以试试这些问题：");
  }

  // --- suggested questions ----------------------------------------------------------------------
  // On an empty conversation, and after an answer the knowledge base could not give: questions it
  // answers well (the server offers only those its index answers with a citation).

  let suggested = null;

  async function offerSuggestions(heading) {
    try {
      if (suggested === null) suggested = (await api("GET", "/v1/kb/suggestions")).questions;
    } catch { return; }
    if (!suggested.length) return;
    dropSuggestions();
    const box = document.createElement("li");
    box.className = "suggestions";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", heading);
    const title = document.createElement("span");
    title.className = "suggestions-title";
    title.textContent = heading;
    box.append(title);
    for (const q of suggested) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = q;
      button.addEventListener("click", async () => { if (await send(q)) dropSuggestions(); });
      box.append(button);
    }
    $("messages").append(box);
  }

  function dropSuggestions() {
    document.querySelectorAll("#messages li.suggestions").forEach((node) => node.remove());
  }

  function renderCitations(citations) {
    const box = document.createElement("div");
    box.className = "citations";
    const heading = document.createElement("span");
    heading.textContent = "参考来源：";
    const list = document.createElement("ol");
    for (const c of citations) {
      const link = document.createElement("a");
      link.className = "citation";
      link.href = `/v1/kb/passages/${encodeURIComponent(c.chunk_id)}`;
      link.dataset.chunkId = c.chunk_id;
      link.textContent = `[${c.index}] ${c.title}${c.section ? ` · ${c.section}` : ""}`;
      link.addEventListener("click", (event) => { event.preventDefault(); openPassage(c, link); });
      const item = document.createElement("li");
      item.append(link);
      list.append(item);
    }
    box.append(heading, list);
    return box;
  }

  function showConfirmation(item, m) {
    const pending = m.pending_confirmation;
    // The server's clock may be pinned (a demo outside trading hours): time the window from
    // when the page first saw the preview, by the server's own created/expires difference.
    const ttl = Date.parse(pending.expires_at) - Date.parse(m.created_at);
    if (!(ttl > 0)) return;
    clearPending();
    const box = document.createElement("div");
    box.className = "confirm";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", pending.kind === "cancel_order" ? "确认撤单" : "确认委托");
    for (const [word, cls] of [["确认", "primary"], ["取消", ""]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = word;
      if (cls) button.className = cls;
      button.addEventListener("click", async () => {
        box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        if (!(await send(word))) box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      });
      box.append(button);
    }
    (item.querySelector(".ticket-actions") || item).append(box);
    const timer = setTimeout(() => {
      clearPending();
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = "该确认已超时，如仍需办理请重新发起。";
      item.append(note);
    }, ttl);
    state.pending = { element: box, timer };
  }

  function clearPending() {
    if (!state.pending) return;
    clearTimeout(state.pending.timer);
    state.pending.element.remove();
    state.pending = null;
  }

  function renderRating(m) {
    const box = document.createElement("div");
    box.className = "rating";
    const buttons = [];
    for (const [value, label, text] of [["up", "这条回复有帮助", "有帮助"], ["down", "这条回复没有帮助", "没帮助"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.rating = value;
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", label);
      button.textContent = text;
      button.addEventListener("click", async () => {
        try {
          await api("PUT", `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages/${m.id}/rating`,
            { rating: value });
          buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
          thanks.textContent = "感谢您的反馈";
        } catch (e) {
          thanks.textContent = e.message;
        }
      });
      buttons.push(button);
    }
    const thanks = document.createElement("span");
    thanks.setAttribute("aria-live", "polite");
    box.append(...buttons, thanks);
    return box;
  }

  // After an agent resolves the conversation: the customer's 1–5 rating of the human service (once).
  function renderSatisfaction() {
    const box = document.createElement("div");
    box.className = "satisfaction";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "为本次人工服务打分");
    const buttons = [];
    const result = document.createElement("span");
    result.setAttribute("aria-live", "polite");
    for (let score = 1; score <= 5; score++) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.score = String(score);
      button.textContent = `${score} 分`;
      button.setAttribute("aria-label", `${score} 分${score === 5 ? "（非常满意）" : score === 1 ? "（非常不满意）" : ""}`);
      button.addEventListener("click", async () => {
        buttons.forEach((b) => { b.disabled = true; });
        try {
          await api("POST", `/v1/conversations/${encodeURIComponent(state.conversationId)}/satisfaction`, { score });
          button.setAttribute("aria-pressed", "true");
          result.textContent = "感谢您的评价！";
        } catch (e) {
          result.textContent = e.message;
          if (e.status !== 409) buttons.forEach((b) => { b.disabled = false; }); // 409: already rated
        }
      });
      buttons.push(button);
    }
    box.append(...buttons, result);
    return box;
  }

  function showTyping() {
    show("typing", state.agentOnline ? "人工客服正在输入…" : "智能客服正在输入…");
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 30000); // a lost reply must not leave it on forever
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    show("typing", "");
  }

  // An answer an LLM is still writing (whole sentences the server has already checked); the
  // stored reply replaces it when it arrives.
  function showDraft(text) {
    let item = $("draft");
    if (!item) {
      item = document.createElement("li");
      item.id = "draft";
      item.className = "message assistant draft";
      item.setAttribute("aria-busy", "true");
      const body = document.createElement("div");
      body.className = "text";
      item.append(body);
      $("messages").append(item);
    }
    item.querySelector(".text").textContent = String(text || "");
    item.scrollIntoView({ block: "end" });
  }

  function clearDraft() {
    const item = $("draft");
    if (item) item.remove();
  }

  // --- agent presence -------------------------------------------------------------------------

  function agentJoined(name) {
    state.agentOnline = true;
    state.agentName = name || state.agentName;
    notice(state.agentName ? `人工客服 ${state.agentName} 已接入` : "人工客服已接入");
    show("presence", state.agentName ? `人工客服 ${state.agentName} 正在为您服务` : "人工客服正在为您服务");
  }

  function renderStatus(event) {
    switch (event.status) {
      case "queued": {
        let text = "正在为您转接人工客服";
        if (Number.isInteger(event.queue_position)) { // the place in the queue: 1 is next
          const ahead = event.queue_position - 1;
          text += ahead > 0 ? `，您前面还有 ${ahead} 位客户` : "，您是下一位";
        }
        if (Number.isFinite(event.estimated_wait_s) && event.estimated_wait_s > 0) {
          text += `，预计等待约 ${Math.max(1, Math.round(event.estimated_wait_s / 60))} 分钟`;
        }
        show("presence", `${text}。`);
        break;
      }
      case "assigned":
        if (event.current && !state.agentOnline) { // after a reload: the agent joined earlier, the history says so
          state.agentOnline = true;
          state.agentName = event.agent_name || null;
          show("presence", state.agentName ? `人工客服 ${state.agentName} 正在为您服务` : "人工客服正在为您服务");
        } else if (!state.agentOnline || (event.agent_name && event.agent_name !== state.agentName)) {
          state.agentOnline = false;
          agentJoined(event.agent_name);
        }
        break;
      case "resolved":
      case "bot":
        if (state.agentOnline) {
          notice(event.status === "resolved" ? "人工客服已结束本次服务，智能客服将继续为您服务。" : "已转回智能客服为您服务。");
        } else if (!$("presence").hidden) {
          notice("已转回智能客服为您服务。");
        }
        state.agentOnline = false;
        state.agentName = null;
        show("presence", "");
        break;
      default: break;
    }
  }

  // --- citations ------------------------------------------------------------------------------

  async function openPassage(citation, link) {
    const dialog = $("passage");
    $("passage-title").textContent = citation.title || "引用原文";
    $("passage-meta").textContent = citation.section || "";
    $("passage-text").textContent = "正在加载原文…";
    dialog.addEventListener("close", () => link.focus(), { once: true });
    if (!dialog.open) dialog.showModal();
    try {
      const p = await api("GET", `/v1/kb/passages/${encodeURIComponent(citation.chunk_id)}`);
      $("passage-title").textContent = p.title || citation.title;
      $("passage-meta").textContent = [p.section, p.source && `依据：${p.source}`, p.issuer,
        p.effective_date && `生效日期：${p.effective_date}`].filter(Boolean).join(" · ");
      $("passage-text").textContent = p.text;
    } catch (e) {
      $("passage-text").textContent = e.message;
    }
  }

  // --- voice ----------------------------------------------------------------------------------

  function micError(error) {
    switch (error && error.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "麦克风权限被拒绝。请在浏览器设置中允许本页面使用麦克风后重试，或改用文字输入。";
      case "NotFoundError":
      case "OverconstrainedError":
        return "未检测到麦克风。请连接麦克风后重试，或改用文字输入。";
      case "NotReadableError":
        return "麦克风正被其他程序占用，请关闭后重试。";
      default:
        return "无法开始录音，请稍后重试或改用文字输入。";
    }
  }

  function setRecordButton(recording) {
    const button = $("record");
    button.setAttribute("aria-pressed", String(recording));
    button.textContent = recording ? "停止并发送" : "语音";
    button.setAttribute("aria-label", recording ? "停止录音并发送" : "开始录音");
  }

  async function toggleRecording() {
    if (state.recording) { state.recording.stop(); return; }
    if (state.busyVoice) return;
    show("chat-error", "");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof MediaRecorder === "undefined") {
      show("chat-error", "当前浏览器不支持录音，请改用文字输入，或使用新版 Chrome、Edge、Safari 浏览器。");
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      show("chat-error", micError(e));
      return;
    }
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"]
      .find((t) => MediaRecorder.isTypeSupported(t));
    let recorder;
    try {
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    } catch {
      stream.getTracks().forEach((t) => t.stop());
      show("chat-error", "无法开始录音，请稍后重试或改用文字输入。");
      return;
    }
    const chunks = [];
    const started = Date.now();
    recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });
    const ticker = setInterval(() => {
      show("voice-status", `正在录音 ${Math.floor((Date.now() - started) / 1000)} 秒，说完请点“停止并发送”`);
    }, 500);
    const limit = setTimeout(() => recorder.stop(), MAX_RECORD_MS);
    recorder.addEventListener("stop", () => {
      clearInterval(ticker);
      clearTimeout(limit);
      stream.getTracks().forEach((t) => t.stop());
      state.recording = null;
      setRecordButton(false);
      if (Date.now() - started < MIN_RECORD_MS || !chunks.length) {
        show("voice-status", "");
        show("chat-error", "录音时间太短，请说完整的一句话后再发送。");
        return;
      }
      uploadVoice(new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" }));
    });
    state.recording = recorder;
    recorder.start();
    setRecordButton(true);
    show("voice-status", "正在录音，说完请点“停止并发送”");
  }

  async function uploadVoice(blob) {
    const ext = blob.type.includes("ogg") ? "ogg" : blob.type.includes("mp4") ? "m4a" : "webm";
    const form = new FormData();
    form.append("audio", blob, `voice.${ext}`);
    state.busyVoice = true;
    $("record").disabled = true;
    show("voice-status", "正在识别语音…");
    try {
      // The transcript (as the customer's message) and the reply arrive over the stream;
      // reading the history as well covers a socket that is reconnecting.
      await api("POST", `/v1/conversations/${encodeURIComponent(state.conversationId)}/voice`, form);
      await catchUp();
      show("voice-status", "");
    } catch (e) {
      show("voice-status", "");
      if (e.status === 401 || e.status === 403) signOut("登录已过期，请重新登录。");
      else show("chat-error", e.status === 0 ? e.message : `语音未能发送：${e.message}`);
    } finally {
      state.busyVoice = false;
      $("record").disabled = false;
    }
  }

  // --- wiring ---------------------------------------------------------------------------------

  function init() {
    const input = $("input");
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value;
      if (await send(text)) { if (input.value === text) input.value = ""; }
      input.focus();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { // not while choosing a 拼音 candidate
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    $("record").addEventListener("click", toggleRecording);
    $("sign-out").addEventListener("click", () => signOut(""));
    $("new-conversation").addEventListener("click", newConversation);
    if (state.token && state.customer) startChat();
    else showSignIn("");
  }

  init();
})();
