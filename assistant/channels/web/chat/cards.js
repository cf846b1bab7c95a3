// Replies that carry data (holdings, orders, trades, balances, an order preview) shown as compact
// tables and cards, built from the reply's structured `data`. The reply's text stays in the page
// for screen readers (the card is hidden from them, its buttons are not); a line of the text the card does not show
// (a risk note, a disclosure, a handoff notice) stays visible under it. Gains are red, losses
// green, as Chinese investors read them. Plain DOM, no HTML strings: names come from the server.
"use strict";

window.MingchuanCards = (() => {
  const SIDE = { buy: "买入", sell: "卖出" };
  const ORDER_STATUS = { open: "未成交", filled: "已成交", cancelled: "已撤销" };
  const KINDS = { reverse_repo: "国债逆回购", place_order: "委托", cancel_order: "撤单" };
  const LABELS = {
    code: "代码", name: "名称", side: "方向", quantity: "数量", price: "价格", amount: "金额", tenor_days: "期限（天）",
    rate: "年化利率", interest: "预估利息", interest_estimate: "预估利息", est_interest: "预估利息", fees: "费用",
    est_fees: "预估费用", est_amount: "预估金额", settle_date: "资金到账日", maturity_date: "到期日", board: "板块",
  };

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const num = (x) => (x === null || x === undefined || x === "" ? NaN : Number(x));
  const money = (x) => (Number.isFinite(num(x))
    ? num(x).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "—");
  const price = (x) => {
    if (!Number.isFinite(num(x))) return "—";
    const s = num(x).toFixed(3);
    return s.endsWith("0") ? s.slice(0, -1) : s;
  };
  const signed = (x, digits = 2) => (num(x) > 0 ? "+" : "") + num(x).toLocaleString("zh-CN",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const trend = (x) => (num(x) > 0 ? "up" : num(x) < 0 ? "down" : "flat"); // red up, green down
  const time = (iso, withDate) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    const opts = { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" };
    if (withDate) Object.assign(opts, { month: "2-digit", day: "2-digit" });
    return d.toLocaleString("zh-CN", opts);
  };
  const security = (name, code) => {
    const cell = el("td", "sec");
    cell.append(el("span", "sec-name", name), el("span", "sec-code", code));
    return cell;
  };
  const two = (top, bottom, cls) => {
    const cell = el("td", "num" + (cls ? " " + cls : ""));
    cell.append(el("span", "", top), el("span", "sub", bottom));
    return cell;
  };

  function table(caption, heads, rows) {
    const t = el("table", "data-table");
    if (caption) t.append(el("caption", "", caption));
    const head = el("thead");
    const tr = el("tr");
    heads.forEach(([text, cls]) => tr.append(el("th", cls || "", text)));
    head.append(tr);
    const body = el("tbody");
    rows.forEach((r) => body.append(r));
    t.append(head, body);
    return t;
  }

  // --- each kind of data: the card, and which lines of the text it shows -----------------------

  function positions(data, text) {
    // The text may name one holding ("我的茅台"): show the rows the text speaks of.
    const items = data.positions.filter((p) => text.includes(`（${p.code}）`));
    if (!items.length) return null;
    const rows = items.map((p) => {
      const tr = el("tr");
      tr.dataset.code = p.code;
      const pl = two(signed(p.profit), signed(p.profit_pct) + "%", "pl " + trend(p.profit));
      pl.dataset.testid = "pl";
      tr.append(security(p.name, p.code), two(p.quantity.toLocaleString("zh-CN"), `可卖 ${p.sellable.toLocaleString("zh-CN")}`),
        two(price(p.last_price), `成本 ${price(p.cost_price)}`), two(money(p.market_value), "", "wide"), pl);
      return tr;
    });
    const total = items.reduce((s, p) => s + num(p.profit), 0);
    const box = el("div", "card holdings");
    box.append(table(`持仓 ${items.length} 只 · 浮动盈亏 ${signed(total)} 元`,
      [["名称/代码"], ["持仓/可卖", "num"], ["现价/成本", "num"], ["市值", "num wide"], ["盈亏", "num"]], rows));
    box.querySelector("caption").classList.add(trend(total));
    box.append(el("p", "foot", "模拟行情，仅供参考"));
    const covered = (line) => items.some((p) => line.includes(`（${p.code}）`)) || /^您的持仓如下：?$/.test(line)
      || line === "（模拟行情，仅供参考）";
    return { node: box, covered };
  }

  function orders(data) {
    if (!data.orders.length) return null;
    const rows = data.orders.map((o) => {
      const tr = el("tr");
      const how = o.price_type === "market" ? "市价" : price(o.limit_price);
      const state = ORDER_STATUS[o.status] || o.status;
      tr.append(security(o.name, o.code),
        two(SIDE[o.side] || o.side, `${o.quantity.toLocaleString("zh-CN")} 股`, o.side),
        two(how, o.status === "open" && o.filled_quantity ? `已成交 ${o.filled_quantity}` : ""),
        two(state, time(o.created_at)));
      return tr;
    });
    const box = el("div", "card orders");
    box.append(table("", [["名称/代码"], ["方向/数量", "num"], ["委托价", "num"], ["状态/时间", "num"]], rows));
    return { node: box, covered: (line) => line.startsWith("委托号 ") };
  }

  function trades(data) {
    if (!data.trades.length) return null;
    const shown = data.trades.slice(0, 20);
    const rows = shown.map((t) => {
      const tr = el("tr");
      tr.append(security(t.name, t.code),
        two(SIDE[t.side] || t.side, `${t.quantity.toLocaleString("zh-CN")} 股`, t.side),
        two(price(t.price), money(t.amount)), two(time(t.traded_at, true), `费用 ${money(t.fees)}`));
      return tr;
    });
    const box = el("div", "card trades");
    box.append(table("", [["名称/代码"], ["方向/数量", "num"], ["成交价/金额", "num"], ["时间", "num"]], rows));
    return { node: box, covered: (line) => /^\d\d-\d\d \d\d:\d\d /.test(line) };
  }

  function balance(data) {
    const box = el("div", "card balance");
    const top = el("div", "balance-total");
    top.append(el("span", "label", "总资产（元）"), el("strong", "", money(data.total_assets)));
    const grid = el("dl", "kv");
    for (const [label, key] of [["证券市值", "market_value"], ["可用资金", "available"], ["可取资金", "withdrawable"],
      ["冻结资金", "frozen"]]) {
      grid.append(el("dt", "", label), el("dd", "num", money(data[key])));
    }
    box.append(top, grid, el("p", "foot", "市值按模拟行情计算，仅供参考"));
    return { node: box, covered: (line) => line.startsWith("您的账户资产如下") };
  }

  // An order preview reads like a broker's order ticket; 确认 / 取消 go beside it.
  function preview(data) {
    const r = data.request;
    if (!r) return null; // a preview that failed its checks: the text says why and what to do
    const box = el("div", "card ticket " + r.side);
    const head = el("div", "ticket-head");
    head.append(el("span", "side-badge " + r.side, SIDE[r.side] || r.side), el("strong", "", data.name),
      el("span", "sec-code", r.code), el("span", "risk", `风险等级 ${data.risk_level}`));
    const grid = el("dl", "kv ticket-fields");
    const how = r.price_type === "market" ? "市价委托" : `限价 ${price(r.limit_price)}`;
    for (const [label, value, cls] of [
      ["委托价格", how, "strong"], ["委托数量", `${r.quantity.toLocaleString("zh-CN")} 股`, "strong"],
      ["现价", price(data.last_price)], ["涨停 / 跌停", `${price(data.limit_up)} / ${price(data.limit_down)}`],
      ["预估金额", `${money(data.est_amount)} 元`, "strong"], ["预估费用", `${money(data.est_fees)} 元`],
    ]) grid.append(el("dt", "", label), el("dd", "num" + (cls ? " " + cls : ""), value));
    const main = el("div", "ticket-main");
    main.append(head, grid);
    box.append(main, el("div", "ticket-actions"));
    const fields = ["证券：", "方向：", "数量：", "价格：", "预估金额：", "风险等级："];
    return { node: box, covered: (line) => fields.some((f) => line.startsWith(f)) };
  }

  // A preview of a kind this page does not know yet (a reverse repo, say): its fields, labelled.
  function genericPreview(data) {
    const box = el("div", "card ticket generic");
    const head = el("div", "ticket-head");
    head.append(el("strong", "", (KINDS[data.kind] || "委托") + "预览"));
    if (data.name || data.code) head.append(el("span", "sec-code", [data.name, data.code].filter(Boolean).join(" ")));
    const grid = el("dl", "kv ticket-fields");
    for (const [key, value] of Object.entries(data)) {
      if (key === "kind" || key === "name" || value === null || typeof value === "object") continue;
      let shown = value;
      if (key === "rate" && Number.isFinite(num(value))) shown = num(value) < 1 ? `${(num(value) * 100).toFixed(3)}%` : `${value}%`;
      else if (/amount|interest|fee/.test(key) && Number.isFinite(num(value))) shown = `${money(value)} 元`;
      grid.append(el("dt", "", LABELS[key] || key), el("dd", "num", shown));
    }
    const main = el("div", "ticket-main");
    main.append(head, grid);
    box.append(main, el("div", "ticket-actions"));
    return { node: box, covered: () => false };
  }

  function pick(m) {
    const d = m.data;
    if (!d || typeof d !== "object") return null;
    if (Array.isArray(d.positions)) return positions(d, m.text);
    if (Array.isArray(d.orders)) return orders(d);
    if (Array.isArray(d.trades)) return trades(d);
    if ("total_assets" in d && "available" in d) return balance(d);
    if (d.draft && "est_amount" in d) return preview(d);
    if (typeof d.kind === "string" && m.pending_confirmation) return genericPreview(d);
    return null;
  }

  // The card for a message, or null; `textEl` is the message's text element: kept for screen readers.
  function render(m, textEl) {
    if (m.role !== "assistant") return null;
    let card;
    try { card = pick(m); } catch { card = null; } // data of an unexpected shape: the text alone
    if (!card) return null;
    const wrap = el("div", "rich");
    // What the text already says is hidden from screen readers; the 确认 / 取消 buttons are not.
    const shown = card.node.querySelector(".ticket-main") || card.node;
    shown.setAttribute("aria-hidden", "true");
    const lines = String(m.text).split("\n");
    const before = [], after = [];
    let seen = false;
    for (const line of lines) {
      if (card.covered(line.trim())) { seen = true; continue; }
      if (line.trim()) (seen ? after : before).push(line);
    }
    const lines_ = (list) => {
      const node = el("div", "rich-text", list.join("\n"));
      node.setAttribute("aria-hidden", "true");
      return node;
    };
    if (before.length) wrap.append(lines_(before));
    wrap.append(card.node);
    if (after.length) wrap.append(lines_(after));
    textEl.classList.add("visually-hidden");
    textEl.dataset.rich = "true";
    return wrap;
  }

  return { render };
})();
