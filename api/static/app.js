// seragam-watch review UI: small progressive enhancements; every page works without them.
"use strict";

function selectAll() {
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`).forEach((b) => { b.checked = box.checked; });
    });
  });
}

function confirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  });
}

function evidenceSource(img) {
  const blur = document.getElementById("blur-toggle")?.checked ?? true;
  const params = new URLSearchParams();
  if (img.dataset.original === "1") params.set("original", "1");
  if (blur) params.set("blur", "1");
  const query = params.toString();
  return img.dataset.base + (query ? `?${query}` : "");
}

function evidenceToggles() {
  const blurToggle = document.getElementById("blur-toggle");
  const images = document.querySelectorAll("img.evidence-image");
  blurToggle?.addEventListener("change", () => images.forEach((img) => { img.src = evidenceSource(img); }));
  document.querySelectorAll("[data-toggle-original]").forEach((button) => {
    const img = button.closest("figure").querySelector("img.evidence-image");
    const labels = [button.textContent, document.documentElement.lang === "en" ? "Show annotated" : "Tampilkan anotasi"];
    button.addEventListener("click", () => {
      img.dataset.original = img.dataset.original === "1" ? "0" : "1";
      button.textContent = labels[img.dataset.original === "1" ? 1 : 0];
      img.src = evidenceSource(img);
    });
  });
}

// Drag a box on an evidence frame to report an item the model missed (pixels of the original frame).
function missedBoxes() {
  document.querySelectorAll("figure.evidence").forEach((figure) => {
    const img = figure.querySelector("img.evidence-image");
    const overlay = figure.querySelector(".draw-box");
    const field = figure.querySelector(".box-field");
    const submit = figure.querySelector("[data-needs-box]");
    let start = null;
    const point = (event) => {
      const rect = img.getBoundingClientRect();
      return { x: Math.min(Math.max(event.clientX - rect.left, 0), rect.width), y: Math.min(Math.max(event.clientY - rect.top, 0), rect.height) };
    };
    img.addEventListener("dragstart", (event) => event.preventDefault());
    img.addEventListener("mousedown", (event) => { start = point(event); overlay.hidden = false; });
    window.addEventListener("mousemove", (event) => {
      if (!start) return;
      const p = point(event);
      Object.assign(overlay.style, { left: `${Math.min(start.x, p.x)}px`, top: `${Math.min(start.y, p.y)}px`, width: `${Math.abs(p.x - start.x)}px`, height: `${Math.abs(p.y - start.y)}px` });
    });
    window.addEventListener("mouseup", (event) => {
      if (!start) return;
      const p = point(event);
      const scale = img.naturalWidth / img.getBoundingClientRect().width;
      const box = [Math.min(start.x, p.x), Math.min(start.y, p.y), Math.max(start.x, p.x), Math.max(start.y, p.y)].map((v) => (v * scale).toFixed(1));
      start = null;
      field.value = box.join(",");
      submit.disabled = false;
    });
  });
}

function jobProgress() {
  const panel = document.getElementById("job");
  if (!panel) return;
  const bar = panel.querySelector(".bar");
  const text = panel.querySelector(".progress-text");
  const state = panel.querySelector(".job-state");
  const labels = JSON.parse(state.dataset.labels);
  const cases = panel.querySelector(".job-cases");
  const poll = async () => {
    const response = await fetch(panel.dataset.jobUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    const total = job.progress.total || 0;
    const percent = job.state === "done" ? 100 : total ? Math.min(100, Math.round((100 * job.progress.done) / total)) : 0;
    bar.style.width = `${percent}%`;
    panel.querySelector(".progress").setAttribute("aria-valuenow", String(percent));
    text.textContent = text.textContent.replace(/^\S+ \/ \S+/, `${job.progress.done} / ${total || "?"}`);
    state.textContent = labels[job.state] || job.state;
    panel.dataset.state = job.state;
    if (job.state === "failed") {
      const error = panel.querySelector(".job-error");
      error.textContent = job.error; error.hidden = false;
    }
    if (job.state === "done") {
      cases.replaceChildren();
      const ids = (job.result && job.result.case_ids) || [];
      // Only who may review a case can open it; anyone else gets its id to quote.
      const linked = new Set(job.linked_case_ids || []);
      ids.forEach((id) => {
        const item = document.createElement(linked.has(id) ? "a" : "span");
        if (linked.has(id)) {
          item.className = "button"; item.href = `/ui/cases/${id}`; item.textContent = `${cases.dataset.caseLabel} ${id}`;
        } else {
          item.className = "tag"; item.textContent = cases.dataset.caseName.replace("{id}", id);
        }
        cases.append(item, " ");
      });
      if (!ids.length) { const p = document.createElement("p"); p.textContent = cases.dataset.empty; cases.append(p); }
      return;
    }
    if (job.state !== "failed") setTimeout(poll, 700);
  };
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  selectAll(); confirmForms(); evidenceToggles(); missedBoxes(); jobProgress();
});
