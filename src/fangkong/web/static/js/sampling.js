// The phone sampling page: scan a tube, then people into it, one after another.
// Every scan is sent to /api/v1/sampling and shown only once the server has stored it.
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

async function scan(body) {
  if (!tube) {
    showError({ message: message("ScanTubeFirst") });
    tubeInput.focus();
    return false;
  }
  clearError();
  sequence += 1;
  const result = await post("/api/v1/sampling/scans", {
    tube_barcode: tube.barcode,
    client_scan_id: `${phone}-${Date.now()}-${sequence}`,
    ...body,
  });
  if (!result.ok) {
    showError(result.data);
    return false;
  }
  const ack = result.data;
  for (const person of ack.people) {
    const item = document.createElement("li");
    item.className = "scan-ok";
    item.textContent = `${person.name_masked} · ${ack.member_count}/${ack.pool_size}`;
    for (const flag of ack.flags) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = message(camel(flag));
      item.append(" ", badge);
    }
    list.prepend(item);
  }
  setTube({ ...tube, member_count: ack.member_count, status: ack.tube_status });
  if (ack.tube_status !== "open") {
    tubeStatus.textContent = `${message("Full")} ${tube.barcode} · ${ack.member_count}/${ack.pool_size}`;
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
  const result = await post(`/api/v1/sampling/tubes/${encodeURIComponent(tube.barcode)}/close`);
  if (!result.ok) {
    showError(result.data);
    return;
  }
  setTube(result.data);
  tubeInput.focus();
});
