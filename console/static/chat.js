// Web chat: talks to Rasa through the app; keeps the conversation id and any unsent
// messages in localStorage so a reload or an outage loses nothing. Notifications from the
// case store (status, staff replies, satisfaction) are polled, shown once and acknowledged;
// the acknowledgement puts them into the conversation history, so a reload shows them there.
(function () {
  "use strict";
  const SENDER_KEY = "petition.sender_id";
  const QUEUE_KEY = "petition.outbox";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusBox = document.getElementById("status");
  const NOTICE_INTERVAL_MS = 5000;
  let sending = false;
  let ready = false; // history restored: notifications may be appended after it
  let polling = false;
  const shownNotices = new Set(); // ids shown on this page, acknowledged or not yet

  function newSenderId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function senderId() {
    let id = localStorage.getItem(SENDER_KEY);
    if (!id) { id = newSenderId(); localStorage.setItem(SENDER_KEY, id); }
    return id;
  }
  function queue() { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); }
  function saveQueue(q) { localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); }

  function showStatus(text) {
    statusBox.textContent = text || "";
    statusBox.hidden = !text;
  }
  function append(role, text, buttons, pending) {
    const li = document.createElement("li");
    li.className = "msg msg--" + role + (pending ? " msg--pending" : "");
    li.textContent = text; // textContent: resident and bot text is never parsed as HTML
    if (buttons && buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      buttons.forEach((b) => {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", () => {
          box.querySelectorAll("button").forEach((x) => (x.disabled = true));
          submit(b.payload, b.title);
        });
        box.appendChild(btn);
      });
      li.appendChild(box);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      let q = queue();
      while (q.length) {
        const item = q[0];
        const res = await fetch("/chat/api/messages", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ sender_id: senderId(), text: item.text, display_text: item.display }),
        }).catch(() => null);
        if (!res || res.status >= 500) {
          const body = res ? await res.json().catch(() => ({})) : {};
          showStatus(body.detail || "网络连接中断，您的消息已保存，恢复后会自动发送。");
          setTimeout(flush, 5000);
          return;
        }
        q.shift();
        saveQueue(q);
        document.querySelectorAll(".msg--pending").forEach((el, i) => { if (i === 0) el.classList.remove("msg--pending"); });
        showStatus("");
        const body = await res.json();
        if (!res.ok) {
          append("bot", body.detail && typeof body.detail === "string" ? body.detail : "消息无法发送：内容为空或过长（最多2000字）。");
          continue;
        }
        body.messages.forEach((m) => append("bot", m.text, m.buttons));
        q = queue();
      }
    } finally {
      sending = false;
    }
  }

  function submit(text, display) {
    const q = queue();
    q.push({ text: text, display: display || null });
    saveQueue(q);
    append("resident", display || text, null, true);
    flush();
  }

  async function ackNotice(id) {
    const url = "/chat/api/notifications/" + encodeURIComponent(id) + "/delivered?sender=" + encodeURIComponent(senderId());
    const res = await fetch(url, { method: "POST" }).catch(() => null);
    return Boolean(res && (res.ok || res.status === 404));
  }

  async function pollNotices() {
    if (!ready || polling || document.hidden) return;
    polling = true;
    try {
      const res = await fetch("/chat/api/notifications?sender=" + encodeURIComponent(senderId())).catch(() => null);
      if (!res || !res.ok) return;
      const body = await res.json();
      for (const note of body.items) {
        if (!shownNotices.has(note.id)) {
          shownNotices.add(note.id);
          append("bot", note.text, note.buttons).classList.add("msg--notice");
        }
        // Not acknowledged (e.g. the assistant is unreachable): the next poll tries again
        // and, the id being known, does not show it a second time.
        if (!(await ackNotice(note.id))) break;
      }
    } finally {
      polling = false;
    }
  }

  async function restore() {
    ready = false;
    const res = await fetch("/chat/api/history?sender_id=" + encodeURIComponent(senderId())).catch(() => null);
    if (res && res.ok) {
      const body = await res.json();
      body.turns.forEach((t, i) => {
        const last = i === body.turns.length - 1;
        append(t.role, t.text, last ? t.buttons : null);
      });
      if (!body.turns.length) append("bot", "您好！这里是市民诉求在线反映平台。请直接描述您遇到的问题，我会帮您登记并转给负责的网格和部门。");
    } else {
      showStatus("智能助手暂时无法连接，您可以先留言，恢复后会自动发送。");
    }
    queue().forEach((item) => append("resident", item.display || item.text, null, true));
    ready = true;
    flush();
    pollNotices();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    submit(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById("share-location").addEventListener("click", () => {
    if (!navigator.geolocation) { showStatus("此浏览器不支持定位，请直接输入地址。"); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const payload = "/share_location" + JSON.stringify({
          latitude: Number(pos.coords.latitude.toFixed(6)),
          longitude: Number(pos.coords.longitude.toFixed(6)),
        });
        submit(payload, "📍 我的位置");
      },
      () => showStatus("无法获取定位（可能未授权），请直接输入地址。"),
      { timeout: 10000 }
    );
  });
  document.getElementById("restart").addEventListener("click", () => {
    localStorage.removeItem(SENDER_KEY);
    saveQueue([]);
    shownNotices.clear();
    log.innerHTML = "";
    restore();
  });
  setInterval(pollNotices, NOTICE_INTERVAL_MS);
  window.addEventListener("focus", pollNotices);
  document.addEventListener("visibilitychange", pollNotices);
  restore();
})();
