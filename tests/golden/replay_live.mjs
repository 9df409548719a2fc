// Replays tests/golden/live.json through the browser page's Recognizer (node, no browser needed)
// and prints what it said per case, as JSON, for tests/test_web.py to compare with the golden file.
import { readFileSync } from "node:fs";
import { Recognizer } from "../../signtrain/deploy/web/page/recognizer.js";
import { settingsFor } from "../../signtrain/deploy/web/page/settings.js";

const golden = JSON.parse(readFileSync(new URL("./live.json", import.meta.url)));
const labels = golden.labels;

// the golden model of make_live.py's vote()
function vote(window) {
  const counts = labels.map(() => 0);
  for (let t = 1; t < window.length; t++) {
    const frame = window[t], previous = window[t - 1];
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += Math.abs(Math.fround(frame[i] - previous[i]));
    const k = Math.round(frame[0]) - 1;
    if (sum / frame.length > 1e-4 && k >= 0 && k < labels.length) counts[k] += 1;
  }
  let best = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i] > counts[best]) best = i;
  const top = counts[best] >= golden.sure[0] ? 0.95 : counts[best] >= golden.sure[1] ? 0.8 : 0.65;
  return Float32Array.from(labels.map((_, i) => (i === best ? top : 0.05)));
}

const out = [];
for (const c of golden.cases) {
  const recognizer = new Recognizer(async (w) => vote(w), labels, c.settings);
  for (const frame of c.frames) await recognizer.push(Float32Array.from(frame));
  await recognizer.finish();
  out.push({ name: c.name, said: recognizer.emissions.map((e) => ({ sign: e.sign, frame: e.frame, start_frame: e.start_frame })) });
}
const settings = golden.settings.map((c) => settingsFor(c.facts, c.fps));
console.log(JSON.stringify({ cases: out, settings }));
