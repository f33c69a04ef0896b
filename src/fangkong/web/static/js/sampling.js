// The phone sampling page: scan a tube, then people into it, one after another.
// Every scan goes to the scan intake (/api/v1/sampling/intake) and is listed once the server has
// stored it ("stored #id"); the page then reads back what the checks made of it (the person's
// masked name and flags, or the refusal) from GET /api/v1/sampling/intake. The tube's count on
// this page is provisional: it counts what this phone sent until the checks confirm it.
import "/static/js/scanner.js";

const root = document.getElementById("sampler");
const message = (key) => root.dataset[`msg${key}`] || key;
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const tubeForm = document.getElementById("tube-form");
const tubeInput = document.getElementById("tube-input");
const tubeStatus = document.getElementById("tube-status");
const personForm = document.getElementById("person-form");
const personInput = document.getElementById("person-input");
const idForm = document.getElementById("id-form");
const idInput = document.getElementById("id-input");
const idButton = document.getElementById("id-button");
const alertBox = document.getElementById("scan-alert");
const list = document.getElementById("scan-list");
const closeButton = document.getElementById("close-tube");
let tube = null;
let sequence = 0;
const pending = new Map(); // intake id → its list item, until the checks have run
let polling = null;
const phone = Math.random().toString(36).slice(2, 10);

function camel(text) {
  return text.replace(/[-_](\w)/g, (_, c) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase());
}

async function post(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, data: { message: message("Failed") } };
  }
  const data = await response.json().catch(() => ({ message: message("Failed") }));
  return { ok: response.ok, data };
}

function showError(data) {
  alertBox.className = "alert";
  alertBox.textContent = data.message || message("Failed");
}

function clearError() {
  alertBox.className = "";
  alertBox.textContent = "";
}

function setTube(state) {
  tube = state;
  const open = !!state && state.status === "open";
  personInput.disabled = !open;
  idInput.disabled = !open;
  idButton.disabled = !open;
  closeButton.disabled = !open;
  if (!state) {
    tubeStatus.textContent = "";
    return;
  }
  const count = `${state.barcode} · ${state.member_count}/${state.pool_size}`;
  tubeStatus.textContent = open ? `${message("TubeOpen")} ${count}` : `${message("Sealed")} ${count}`;
}

tubeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const barcode = tubeInput.value.trim();
  if (!barcode) return;
  clearError();
  const result = await post("/api/v1/sampling/tubes", {
    barcode,
    campaign_id: Number(root.dataset.round),
    site: root.dataset.site,
  });
  tubeInput.value = "";
  if (!result.ok) {
    showError(result.data);
    tubeInput.focus();
    return;
  }
  list.replaceChildren();
  setTube(result.data);
  personInput.focus();
});

function showOutcome(item, row) {
  item.replaceChildren();
  if (row.outcome === "applied") {
    item.className = "scan-ok";
    item.textContent = `${row.people_masked.join("、")} · ${item.dataset.slot}`;
    for (const flag of row.flags) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = message(camel(flag));
      item.append(" ", badge);
    }
  } else {
    item.className = "scan-rejected";
    item.textContent = `#${row.id} · ${message("Rejected")}: ${row.error_message}`;
    showError({ message: `${message("Rejected")}: ${row.error_message}` });
  }
}

async function poll() {
  polling = null;
  try {
    const response = await fetch("/api/v1/sampling/intake?limit=100", {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      for (const row of await response.json()) {
        const item = pending.get(row.id);
        if (!item || row.outcome === "pending") continue;
        showOutcome(item, row);
        pending.delete(row.id);
      }
    }
  } catch {
    // offline for a moment: the scans are stored; ask again
  }
  if (pending.size) polling = setTimeout(poll, 1000);
}

function watch() {
  if (!polling) polling = setTimeout(poll, 300);
}

async function settled() {
  // The last scans of a tube are checked before it is closed, so none lands in a sealed tube.
  for (let tries = 0; pending.size && tries < 60; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function scan(body) {
  if (!tube) {
    showError({ message: message("ScanTubeFirst") });
    tubeInput.focus();
    return false;
  }
  clearError();
  sequence += 1;
  const result = await post("/api/v1/sampling/intake", {
    tube_barcode: tube.barcode,
    client_scan_id: `${phone}-${Date.now()}-${sequence}`,
    ...body,
  });
  if (!result.ok) {
    showError(result.data);
    return false;
  }
  const ack = result.data;
  const count = tube.member_count + (ack.replayed ? 0 : ack.people);
  const item = document.createElement("li");
  item.className = "scan-pending";
  item.dataset.slot = `${count}/${tube.pool_size}`;
  item.textContent = `#${ack.intake_id} · ${message("Stored")} · ${item.dataset.slot}`;
  list.prepend(item);
  pending.set(ack.intake_id, item);
  watch();
  setTube({ ...tube, member_count: count });
  if (count >= tube.pool_size) {
    tubeStatus.textContent = `${message("ProbablyFull")} ${tube.barcode} · ${count}/${tube.pool_size}`;
    personInput.disabled = true;
    tubeInput.focus();
  }
  return true;
}

personForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = personInput.value.trim();
  personInput.value = "";
  if (code) await scan({ code });
  if (tube && tube.status === "open") personInput.focus();
});

idForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const idNumber = idInput.value.trim();
  if (!idNumber) return;
  if (await scan({ id_number: idNumber })) idInput.value = "";
  if (tube && tube.status === "open") personInput.focus();
});

closeButton.addEventListener("click", async () => {
  if (!tube) return;
  clearError();
  if (pending.size) {
    tubeStatus.textContent = message("Waiting");
    await poll();
    await settled();
  }
  const result = await post(`/api/v1/sampling/tubes/${encodeURIComponent(tube.barcode)}/close`);
  if (!result.ok) {
    showError(result.data);
    return;
  }
  setTube(result.data);
  tubeInput.focus();
});
