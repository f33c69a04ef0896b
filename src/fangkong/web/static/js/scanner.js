// Camera scanning for any input marked with data-scanner="<format>[,<format>...]"
// (BarcodeDetector formats: qr_code, code_128, ...). Where the browser has the BarcodeDetector
// API, a camera button is added next to the input; a detected code is typed into the input and
// its form is submitted, exactly as a keyboard-wedge scanner would do (text + Enter). Without
// the API nothing is added: the input still works with a handheld scanner or the keyboard.
// No library and no download: the detection is the browser's own.

const FRAME_INTERVAL_MS = 150;

export function cameraAvailable() {
  return "BarcodeDetector" in window && !!navigator.mediaDevices?.getUserMedia;
}

function submitWith(input, value) {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  if (input.form) {
    input.form.requestSubmit();
  }
}

async function scanOnce(input, formats) {
  const detector = new window.BarcodeDetector({ formats });
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  const overlay = document.createElement("div");
  overlay.className = "scanner-overlay";
  const video = document.createElement("video");
  video.setAttribute("playsinline", "");
  video.muted = true;
  video.srcObject = stream;
  const stop = document.createElement("button");
  stop.type = "button";
  stop.textContent = input.dataset.scannerCancel || "×";
  overlay.append(video, stop);
  document.body.append(overlay);
  let running = true;
  const finish = () => {
    running = false;
    stream.getTracks().forEach((track) => track.stop());
    overlay.remove();
    input.focus();
  };
  stop.addEventListener("click", finish);
  await video.play();
  while (running) {
    try {
      const found = await detector.detect(video);
      if (found.length) {
        finish();
        submitWith(input, found[0].rawValue);
        return;
      }
    } catch {
      // a frame that could not be read: try the next one
    }
    await new Promise((resolve) => setTimeout(resolve, FRAME_INTERVAL_MS));
  }
}

export function attachScanner(input) {
  if (input.dataset.scannerAttached || !cameraAvailable()) {
    return;
  }
  input.dataset.scannerAttached = "1";
  const formats = (input.dataset.scanner || "qr_code").split(",").map((f) => f.trim());
  const button = document.createElement("button");
  button.type = "button";
  button.className = "scanner-button";
  button.textContent = input.dataset.scannerLabel || "📷";
  button.setAttribute("aria-label", input.dataset.scannerLabel || "camera");
  button.addEventListener("click", () => {
    if (!input.disabled) {
      scanOnce(input, formats).catch(() => input.focus());
    }
  });
  input.insertAdjacentElement("afterend", button);
}

export function attachAll(root = document) {
  root.querySelectorAll("input[data-scanner]").forEach(attachScanner);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => attachAll());
} else {
  attachAll();
}
