// The page: camera or video file -> MediaPipe Holistic (the same .task bundle as `signtrain extract`)
// -> the model's frame vector -> the same windows and decision rule as `signtrain predict --stream`
// -> the signs as large text, spoken with the Web Speech API.  Everything is loaded from this
// folder: no request leaves the page's own host (own-host.js, imported first, refuses any).
import "./own-host.js";
import { FilesetResolver, HolisticLandmarker, DrawingUtils } from "./vendor/tasks-vision/vision_bundle.mjs";
import * as ort from "./vendor/onnxruntime-web/ort.wasm.min.mjs";
import { Recognizer } from "./recognizer.js";
import { holisticVector, select } from "./landmarks.js";
import { settingsFor } from "./settings.js";

const $ = (id) => document.getElementById(id);
const here = (path) => new URL(path, location.href).href;

// what the tests (and a curious user, in the console) can read
const state = { ready: false, error: null, emissions: [], spoken: [], vectors: [], frames: 0, fps: 0,
  startup_ms: 0, first_frame_ms: null, settings: null };
window.signtrain = state;

let config, session, vision, landmarker, recognizer, drawer, running = false;

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
  if (error) state.error = text;
}

async function predict(window) {
  const [T, F] = [config.input.frames, config.input.features];
  const data = new Float32Array(T * F);
  window.forEach((frame, t) => data.set(frame, t * F));
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", data, [1, T, F]) });
  return out[session.outputNames[0]].data;
}

function spoken(sign) {
  return config.words[sign] || sign.replace(/[_-]/g, " ");
}

function say(emission) {
  state.emissions.push(emission);
  const text = spoken(emission.sign);
  $("sentence").textContent = ($("sentence").textContent + " " + text).trim();
  $("last").textContent = `${text} (${Math.round(emission.probability * 100)} %)`;
  if ($("speak").checked && "speechSynthesis" in window) {
    state.spoken.push(text);
    window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  }
}

// one landmarker per stream, as `signtrain extract` uses one per video: its tracking never carries over
async function newLandmarker() {
  if (landmarker) landmarker.close();
  landmarker = await HolisticLandmarker.createFromOptions(vision, {
    baseOptions: { modelAssetPath: "holistic_landmarker.task", delegate: "CPU" }, runningMode: "VIDEO" });
}

function newRecognizer(fps) {
  Object.assign(state, { emissions: [], spoken: [], vectors: [], frames: 0 });
  state.settings = settingsFor(config.live, fps);
  recognizer = new Recognizer(predict, config.labels, state.settings, say);
}

function draw(result) {
  const canvas = $("overlay"), video = $("video");
  if (canvas.width !== video.videoWidth) { canvas.width = video.videoWidth; canvas.height = video.videoHeight; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawer = drawer || new DrawingUtils(ctx);
  for (const [key, lines, colour] of [["poseLandmarks", HolisticLandmarker.POSE_CONNECTIONS, "#00c8ff"],
    ["leftHandLandmarks", HolisticLandmarker.HAND_CONNECTIONS, "#ffd000"],
    ["rightHandLandmarks", HolisticLandmarker.HAND_CONNECTIONS, "#ff5a00"]]) {
    for (const points of result[key] || []) {
      drawer.drawConnectors(points, lines, { color: colour, lineWidth: 3 });
      drawer.drawLandmarks(points, { color: colour, radius: 2 });
    }
  }
}

const clock = { times: [] };
let canvas2d = null;
// MediaPipe's CPU path is faster from pixels than from a <video> (measured in headless Chromium:
// about 240 against 320 ms a frame on 2 cores), so each frame is copied out first
function pixels(video) {
  if (!canvas2d || canvas2d.canvas.width !== video.videoWidth) {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas2d = canvas.getContext("2d", { willReadFrequently: true });
  }
  canvas2d.drawImage(video, 0, 0);
  return canvas2d.getImageData(0, 0, canvas2d.canvas.width, canvas2d.canvas.height);
}

async function processFrame(video, timestampMs) {
  const started = performance.now();
  const result = landmarker.detectForVideo(pixels(video), timestampMs);
  clock.detect_ms = performance.now() - started;
  const { vector } = holisticVector(result);
  const frame = select(vector, config.selection);
  if (state.keep_vectors) state.vectors.push(Array.from(vector));
  if (state.first_frame_ms === null) state.first_frame_ms = Math.round(performance.now());
  state.frames += 1;
  clock.times.push(performance.now());
  if (clock.times.length > 30) clock.times.shift();
  if (clock.times.length > 1) {
    state.fps = (clock.times.length - 1) * 1000 / (clock.times[clock.times.length - 1] - clock.times[0]);
    $("fps").textContent = `${state.fps.toFixed(1)} frames/s`;
  }
  draw(result);
  await recognizer.push(frame);
}

function stop() {
  running = false;
  const video = $("video");
  if (video.srcObject) { video.srcObject.getTracks().forEach((t) => t.stop()); video.srcObject = null; }
  $("stop").disabled = true;
}

// The camera, in real time, at the rate this machine keeps up with: a few frames measure how long
// one takes, then frames are taken at a steady rate no higher than the camera's (the others are
// dropped), and the windows span the time a training recording spans at that rate.
async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status("The camera needs a secure page: open it through `signtrain serve` (http://localhost) or https.", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false });
  } catch (error) {
    const why = error.name === "NotAllowedError" ? "The camera was refused: allow it in the browser's site settings, then press Start again."
      : error.name === "NotFoundError" || error.name === "OverconstrainedError" ? "No camera was found: connect one, or play a video file."
        : `The camera could not be started (${error.name}): close other programs that use it, or play a video file.`;
    status(why, true);
    return;
  }
  stop();
  await newLandmarker();
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  const offered = stream.getVideoTracks()[0].getSettings().frameRate || config.live.default_fps;
  running = true;
  $("stop").disabled = false;
  status("Measuring how fast this device reads landmarks…");
  const costs = [];
  for (let i = 0; i < 5 && running; i++) {
    await new Promise((ok) => setTimeout(ok, 1000 / offered));
    const started = performance.now();
    landmarker.detectForVideo(pixels(video), Math.round(started));
    costs.push(performance.now() - started);
  }
  const each = costs.sort((a, b) => a - b)[Math.floor(costs.length / 2)] || 1000 / offered;
  const fps = Math.max(1, Math.min(offered, Math.floor(1000 / (each * 1.15))));
  newRecognizer(fps);
  state.camera_fps = fps;
  status(`Watching the camera at ${fps} frames/s (of ${Math.round(offered)} offered). Sign, then rest your hands.`);
  let due = performance.now();
  while (running) {
    due += 1000 / fps;
    try {
      await processFrame(video, Math.round(performance.now()));
    } catch (error) {
      status(`Stopped: ${error.message || error}`, true);
      stop();
    }
    await new Promise((ok) => setTimeout(ok, Math.max(0, due - performance.now())));
    if (performance.now() - due > 1000 / fps) due = performance.now();  // fell behind: drop, do not catch up
  }
}

// A browser does not say a video's frame rate: play a few frames and read their media times.
async function frameRate(video) {
  if (!video.requestVideoFrameCallback) return config.live.default_fps;
  const times = [];
  await new Promise((ok) => {
    const seen = (now, meta) => {
      times.push(meta.mediaTime);
      if (times.length < 12) video.requestVideoFrameCallback(seen); else ok();
    };
    video.requestVideoFrameCallback(seen);
    video.play();
    setTimeout(ok, 3000);
  });
  video.pause();
  const steps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0).sort((a, b) => a - b);
  return steps.length ? Math.round(1 / steps[Math.floor(steps.length / 2)] * 100) / 100 : config.live.default_fps;
}

// Seek, and wait until the new frame is on show ('seeked' alone can come before the frame is drawn)
function showFrame(video, time) {
  return new Promise((ok) => {
    const timer = setTimeout(ok, 2000);
    const done = () => { clearTimeout(timer); ok(); };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(done); else video.onseeked = done;
    video.currentTime = time;
  });
}

// A video file (or URL), every frame in turn, as `signtrain predict VIDEO --stream` reads it.
async function playUrl(url, fps = null) {
  stop();
  await newLandmarker();
  const video = $("video");
  video.src = url;
  await new Promise((ok, fail) => { video.onloadeddata = ok; video.onerror = () => fail(new Error("the video cannot be read")); });
  fps = fps || await frameRate(video);
  state.video_fps = fps;
  newRecognizer(fps);
  running = true;
  $("stop").disabled = false;
  status("Reading the video, every frame…");
  const frames = Math.round(video.duration * fps);
  for (let i = 0; i < frames && running; i++) {
    await showFrame(video, (i + 0.5) / fps);
    await processFrame(video, Math.round(i * 1000 / fps));
  }
  for (const e of await recognizer.finish()) void e;
  running = false;
  $("stop").disabled = true;
  status(`Done: ${state.frames} frames, ${state.emissions.length} signs.`);
  return state.emissions.map((e) => e.sign);
}
state.playUrl = playUrl;
state.predictWindows = async (windows) => {
  const out = [];
  for (const w of windows) out.push(Array.from(await predict(w.map((f) => Float32Array.from(f)))));
  return out;
};

async function main() {
  const started = performance.now();
  try {
    config = await (await fetch("settings.json")).json();
    $("model").textContent = `${config.model.file} (run ${config.model.run_id}), ${config.labels.length} signs`;
    ort.env.wasm.wasmPaths = here("vendor/onnxruntime-web/");
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
    vision = await FilesetResolver.forVisionTasks(here("vendor/tasks-vision/wasm"));
    await newLandmarker();
  } catch (error) {
    status(`The page could not start: ${error.message || error}. Export it again with signtrain export --format web.`, true);
    return;
  }
  state.startup_ms = Math.round(performance.now() - started);
  state.ready = true;
  for (const id of ["camera", "file"]) $(id).disabled = false;
  $("camera").addEventListener("click", startCamera);
  $("stop").addEventListener("click", () => { stop(); status("Stopped."); });
  $("clear").addEventListener("click", () => { $("sentence").textContent = ""; $("last").textContent = ""; });
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) playUrl(URL.createObjectURL(file)).catch((e) => status(`${file.name}: ${e.message || e}`, true));
  });
  status(`Ready. Start the camera or play a video file. (${config.labels.length} signs)`);
  if (new URLSearchParams(location.search).has("camera")) startCamera();
}

main();
