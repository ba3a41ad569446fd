// Staff console: keyboard work through the queue, reply templates, intake suggestions.
(function () {
  "use strict";

  // Queue: j/k move, Enter opens; clicking a row opens it.
  const table = document.getElementById("queue");
  if (table) {
    const rows = Array.from(table.querySelectorAll("tbody tr[data-href]"));
    let index = -1;
    const focus = (i) => {
      if (!rows.length) return;
      index = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r) => r.classList.remove("current"));
      rows[index].classList.add("current");
      rows[index].focus();
    };
    rows.forEach((row, i) => {
      row.addEventListener("click", (event) => {
        if (event.target.closest("a")) return;
        window.location.href = row.dataset.href;
      });
      row.addEventListener("focus", () => { index = i; });
    });
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, select, textarea")) return;
      if (event.key === "j") focus(index + 1);
      else if (event.key === "k") focus(index - 1);
      else if (event.key === "Enter" && index >= 0) window.location.href = rows[index].dataset.href;
    });
  }

  // Reply templates fill the reply box; staff edit before sending.
  document.querySelectorAll("select.template-picker").forEach((picker) => {
    picker.addEventListener("change", () => {
      const target = document.getElementById(picker.dataset.target);
      if (target && picker.value) target.value = picker.value;
    });
  });

  // Category correction: the subcategory select offers only the chosen category's
  // subcategories. The server renders every category's group (and clears a subcategory that
  // does not belong when the page runs without scripts); here the other groups are taken out
  // of the select, since hidden options still show in some browsers.
  document.querySelectorAll("select.category-picker").forEach((picker) => {
    const subs = document.getElementById(picker.dataset.subcategories);
    if (!subs) return;
    const groups = Array.from(subs.querySelectorAll("optgroup[data-category]"));
    const follow = () => {
      const keep = subs.value;
      groups.forEach((group) => group.remove());
      const group = groups.find((g) => g.dataset.category === picker.value);
      if (group) subs.append(group);
      const stays = group && Array.from(group.querySelectorAll("option")).some((o) => o.value === keep);
      subs.value = stays ? keep : "";
    };
    picker.addEventListener("change", follow);
    follow();
  });

  // Similar tickets: "合并到此" fills the merge form's target.
  document.querySelectorAll("button.merge-pick").forEach((button) => {
    button.addEventListener("click", () => {
      const input = document.querySelector('form[data-action="merge"] input[name="merge_into"]');
      if (!input) return;
      input.value = button.dataset.number;
      input.focus();
    });
  });

  // Inbox: tick all.
  const checkAll = document.getElementById("check-all");
  if (checkAll) {
    checkAll.addEventListener("change", () => {
      document.querySelectorAll('#inbox input[name="ids"]').forEach((box) => { box.checked = checkAll.checked; });
    });
  }

  // Training job: live status and log until it finishes.
  const job = document.getElementById("job");
  if (job) {
    let offset = 0;
    const log = document.getElementById("job-log");
    const poll = async () => {
      try {
        const response = await fetch(`/admin/training/jobs/${job.dataset.job}/progress?offset=${offset}`);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (data.log) { log.textContent += data.log; log.scrollTop = log.scrollHeight; }
        offset = data.offset;
        document.getElementById("job-status").textContent = data.status_label;
        document.getElementById("job-stage").textContent = data.stage;
        if (data.error) { const e = document.getElementById("job-error"); e.textContent = data.error; e.hidden = false; }
        if (data.model_version_id) {
          document.getElementById("job-version").href = `/admin/models/${data.model_version_id}`;
          document.getElementById("job-result").hidden = !data.finished;
        }
        if (data.finished) { const c = document.getElementById("cancel-form"); if (c) c.hidden = true; return; }
      } catch (err) { /* the server may be restarting; keep polling */ }
      setTimeout(poll, 1500);
    };
    poll();
  }

  // Hotline intake: ask the bot's classifier and the grid resolver for suggestions.
  const suggest = document.getElementById("suggest");
  if (suggest) {
    const form = document.getElementById("intake-form");
    const box = document.getElementById("suggestions");
    const choose = (name, value) => { form.elements[name].value = value; };
    const chip = (label, onClick) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "chip";
      b.textContent = label;
      b.addEventListener("click", onClick);
      return b;
    };
    suggest.addEventListener("click", async () => {
      box.textContent = "正在分析…";
      const body = new FormData();
      ["csrf_token", "description", "location_text"].forEach((n) => body.append(n, form.elements[n].value));
      try {
        const response = await fetch("/intake/suggest", { method: "POST", body });
        const data = await response.json();
        box.textContent = "";
        if (!response.ok) { box.textContent = data.detail || "暂时无法给出建议"; return; }
        if (data.notice) box.append(data.notice, document.createElement("br"));
        data.categories.forEach((c, i) => {
          box.append(chip(`${c.name} ${Math.round(c.confidence * 100)}%`, () => choose("category", c.code)));
          if (i === 0) choose("category", c.code);
        });
        if (data.subcategory) choose("subcategory", data.subcategory);
        data.grids.forEach((g, i) => {
          box.append(chip(`网格：${g.name}`, () => choose("grid_code", g.code)));
          if (i === 0) choose("grid_code", g.code);
        });
        if (!data.categories.length && !data.grids.length && !data.notice) box.textContent = "没有建议，请手动选择";
      } catch (err) {
        box.textContent = "暂时无法给出建议，请手动选择";
      }
    });
  }
})();
