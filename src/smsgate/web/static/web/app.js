"use strict";
// Every page works without this file. It adds: the live SMS counter, adding and removing rows, Preview and
// Test send answered in place, clickable history rows, and the dashboard's live counts.

// GSM 03.38 as the gsm0338 codec encodes it (smsgate/lib/segments.py): one septet each, or two (escape).
const GSM7 = new Set(Array.from(
  "\n\r\x1b !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" +
  "\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0" +
  "\u00e4\u00e5\u00e6\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc" +
  "\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a6\u03a8\u03a9"));
const GSM7_EXTENSION = new Set(Array.from("\f[\\]^{|}~\u20ac"));

// The same answer as encoding_and_segments() in Python: 160/153 septets, or 70/67 UTF-16 units, and a
// two-unit character (an escape, a surrogate pair) is never split between parts.
function segments(text) {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM7.has(c) || GSM7_EXTENSION.has(c));
  const [single, part] = gsm ? [160, 153] : [70, 67];
  const units = chars.map((c) => (gsm ? (GSM7_EXTENSION.has(c) ? 2 : 1) : c.length));
  const total = units.reduce((a, b) => a + b, 0);
  if (total <= single) {
    return { encoding: gsm ? "gsm7" : "ucs2", segments: units.length ? 1 : 0, units: total, left: single - total };
  }
  let count = 1, used = 0;
  for (const size of units) {
    if (used + size > part) { count += 1; used = 0; }
    used += size;
  }
  return { encoding: gsm ? "gsm7" : "ucs2", segments: count, units: total, left: part - used };
}

function notGsm(text) {
  return [...new Set(Array.from(text).filter((c) => !GSM7.has(c) && !GSM7_EXTENSION.has(c)))];
}

function describe(text) {
  const s = segments(text);
  const chars = Array.from(text).length;
  if (!chars) return "0 characters";
  let line = `${chars} character${chars === 1 ? "" : "s"} · ${s.encoding === "gsm7" ? "GSM-7" : "Unicode (UCS-2)"}` +
    ` · ${s.segments} SMS · ${s.left} left in this part`;
  if (s.encoding === "ucs2") {
    const odd = notGsm(text).slice(0, 5).map((c) => `“${c}”`).join(" ");
    line += ` — 70 instead of 160 per SMS because of ${odd}`;
  }
  return line;
}

function setUpCounters() {
  document.querySelectorAll("[data-counter-for]").forEach((out) => {
    const box = document.getElementById(out.dataset.counterFor);
    if (!box) return;
    const update = () => {
      out.textContent = describe(box.value);
      out.classList.toggle("ucs2", segments(box.value).encoding === "ucs2");
    };
    box.addEventListener("input", update);
    update();
  });
}

function addRow(button) {
  const rows = document.querySelector(button.dataset.addRow);
  const last = rows.querySelector(".row-item:last-child");
  const row = last.cloneNode(true);
  row.querySelectorAll("input").forEach((input) => { input.value = ""; });
  rows.appendChild(row);
  row.querySelector("input").focus();
}

function removeRow(button) {
  const row = button.closest(".row-item");
  if (row.parentElement.querySelectorAll(".row-item").length > 1) row.remove();
  else row.querySelectorAll("input").forEach((input) => { input.value = ""; });
}

async function submitPanel(form) {
  const target = document.querySelector(form.dataset.panel);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  button.dataset.label = button.textContent;
  button.textContent = "Working…";
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (!response.ok && response.status !== 400) throw new Error(String(response.status));
    target.outerHTML = await response.text();
  } catch (error) {
    form.submit(); // the page without JavaScript's help: it answers with the whole page
  }
}

function pollLiveCounts() {
  const box = document.querySelector("[data-live-url]");
  if (!box) return;
  const refresh = async () => {
    if (document.visibilityState !== "visible") return;
    try {
      const response = await fetch(box.dataset.liveUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const counts = await response.json();
      box.querySelectorAll("[data-live]").forEach((el) => {
        if (counts[el.dataset.live] !== undefined) el.textContent = counts[el.dataset.live];
      });
    } catch (error) { /* the next poll tries again */ }
  };
  setInterval(refresh, 5000);
}

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) { addRow(add); return; }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) { removeRow(remove); return; }
  const row = event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a, button, input, select")) window.location.href = row.dataset.href;
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-panel]");
  if (!form) return;
  event.preventDefault();
  submitPanel(form);
});

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]") && event.target.value) event.target.form.submit();
});

document.addEventListener("DOMContentLoaded", () => {
  setUpCounters();
  pollLiveCounts();
});

window.smsgate = { segments, describe };
